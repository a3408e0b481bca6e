"""The codec worker (one QThread owning the model), its typed jobs and the metrics thread."""
