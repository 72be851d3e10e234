"""aiogram routers, one module per feature, included in a fixed order."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    action_planning,
    action_results,
    actions,
    admin,
    audit_log,
    basics,
    broadcast,
    calendar,
    chat_members,
    errors,
    fallback,
    founding,
    greeting,
    groups,
    guide,
    hosts,
    intake,
    invitations,
    kept,
    meeting_posts,
    meetings,
    memorials,
    message_settings,
    newcomer_digest,
    privacy,
    reengagement,
    reports,
    start,
    surveys,
)


def build_router() -> Router:
    """The root router. Order matters: aiogram stops at the first handler whose filters match.

    Error events travel the same order: features explain their own domain errors (see
    bot.telegram.guards.explain) before the catch-all in `errors`, which comes last.
    """
    root = Router(name="handlers")
    root.include_routers(
        chat_members.create_router(),  # my_chat_member: block/unblock bookkeeping, never a reply
        greeting.create_router(),  # groups only: welcomes, join requests, /willkommen
        basics.create_router(),  # /hilfe, /sprache, /abbrechen: work in every state
        start.create_router(),  # /start (hosts and organisers get their own), consent
        intake.create_router(),  # the intake's questions and summary, /profil
        kept.create_router(),  # joins and answers pressed before consent, kept for after it
        groups.create_router(),  # /gruppen: suggestions, browsing, details, joining, leaving
        founding.create_router(),  # proposing a Stammtisch; organisers approve or decline
        guide.create_router(),  # /kv: the guide, section by section
        meetings.create_router(),  # /termine: the next meetings, saying you come
        meeting_posts.create_router(),  # posting meetings into group chats; answers there
        hosts.create_router(),  # /meine_gruppen: hosts run their meetings (before broadcast)
        action_results.create_router(),  # the result log after a shift (counts, topics)
        actions.create_router(),  # /aktionen: field action dates, shifts, sign-ups, swaps
        action_planning.create_router(),  # /aktionen_planen: planners (guarded), re-checked
        memorials.create_router(),  # /gedenktage: memorial dates, answering the KV's events
        calendar.create_router(),  # /kalender: my dates as .ics files and a feed to subscribe
        invitations.create_router(),  # /einladen: my link to invite others
        privacy.create_router(),  # /datenschutz: what is stored, show it, erase it
        message_settings.create_router(),  # /einstellungen
        # Check-in buttons; pause and call consent of /einstellungen; /ruhige (guarded)
        reengagement.create_router(),
        broadcast.create_router(),  # /rundschreiben; its states take only non-command messages
        surveys.create_router(),  # /umfrage (organisers, guarded); answering surveys (members)
        admin.create_router(),  # /rolle, /rollen: admins only (guarded), one conversation step
        audit_log.create_router(),  # /protokoll: the audit log, admins only (guarded)
        newcomer_digest.create_router(),  # the digest's page buttons: organisers only (guarded)
        reports.create_router(),  # /bericht: figures, charts, CSV, PDF; organisers only (guarded)
        fallback.create_router(),  # last: unknown commands, stale buttons, stray text
        errors.create_router(),  # error events only: whatever no feature explained
    )
    return root
