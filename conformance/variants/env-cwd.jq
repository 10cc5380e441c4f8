.process.env += ["FOO=bar", "EMPTY="] | .process.cwd = "/tmp"
