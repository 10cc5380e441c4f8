.linux.namespaces |= map(select(.type != "network" and .type != "ipc"))
