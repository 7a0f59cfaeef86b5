"""The Pulumi layer: dynamic resources and the plugin's worker pool. The only layer that imports pulumi or grpc.

The classes Pulumi pickles into every stack's state are re-exported from ``provider.resource`` (the frozen path);
see ARCHITECTURE.md, "The state contract".
"""
