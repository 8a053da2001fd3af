"""Code shared by every Binks function: the role model, the runtime, the framework adapters."""
