"""What runs crawls: the in-process runner, the Redis workers, reparse, event linking, the
scheduled run and the scheduler daemon. Imported by the CLI; imports no CLI code."""
