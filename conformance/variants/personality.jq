.linux.personality = {"domain": "LINUX32"}
