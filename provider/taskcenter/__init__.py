"""The task-center API: response models, the client that reads jobs, and the composition root that builds it."""
