.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"],
  "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
  "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
