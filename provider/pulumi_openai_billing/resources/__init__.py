"""One module per resource family: input model, CRUD and the public ``pulumi.dynamic.Resource`` class."""
