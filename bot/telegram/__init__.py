"""The Telegram transport (python-telegram-bot): it only translates.

- ``lifecycle``: the PTB application, long polling or the webhook, leader election, start/stop;
- ``updates``: commands, buttons, membership changes and channels in, core commands out;
- ``render``: core replies to Telegram HTML and inline keyboards (how buttons are drawn);
- ``channel``: sending one rendered chunk within Telegram's limits, errors as decisions.
"""
