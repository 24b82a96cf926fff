"""Built-in alertgate plugins, registered through the ``alertgate.plugins`` entry-point group."""
