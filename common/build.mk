# common/: code shared by libp11shim and tools (message codec).
