.linux.maskedPaths += ["/etc/passwd", "/home"] | .linux.readonlyPaths += ["/tmp", "/root"] |
  .root.readonly = false
