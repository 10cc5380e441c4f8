.root.readonly = false
