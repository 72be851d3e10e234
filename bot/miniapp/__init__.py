"""The organisers' Telegram Mini App: a dashboard served by the bot's own web server.

auth (initData, its age, the role), payload (the JSON, masked and translated), page (the one
HTML page), routes (GET /app/ and /app/api/dashboard), menu_button (the chat's button to it).
"""
