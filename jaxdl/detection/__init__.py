"""Object detection's shared code, used by every detector and segmenter: box arithmetic (boxes), the box coder and
anchors (anchors), non-maximum suppression (nms) and RoI pooling (roi). Boxes are (x1, y1, x2, y2) in pixels,
float32; every function is jittable with static shapes."""
