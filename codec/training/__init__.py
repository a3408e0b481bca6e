"""The bundled demo codec's training: the data it makes itself, the trainer, the evaluation."""
