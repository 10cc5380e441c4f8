.process.noNewPrivileges = false | .process.oomScoreAdj = 123
