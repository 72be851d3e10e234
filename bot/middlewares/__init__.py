"""aiogram middlewares, registered in bot.app in the order documented there."""
