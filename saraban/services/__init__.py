"""One module per capability: the rules applied to storage, for both front doors."""
