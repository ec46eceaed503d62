"""What the app and training share: strokes, the rasterizer, the model file contract, the classifier."""
