"""The Slack transport (slack-bolt): it only translates.

- ``lifecycle``: the bolt app, Socket Mode leader or signed HTTP mode, start/stop;
- ``handlers``: slash commands, buttons, the modal's submission and App Home events;
- ``render``: core replies to Block Kit messages;
- ``views``: the subscription modal and the App Home tab;
- ``channel``: sending one rendered message within Slack's limits, errors as decisions.
"""
