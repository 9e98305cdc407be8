"""Training: dataset building from talking videos, training loops, checkpoints (safetensors + config), ONNX export.

- :mod:`talkinghead.train.prepare`: talking videos -> cached shards (landmarks, blendshapes, head
  pose, normalised landmark offsets, audio features, phones); ``talkinghead train prepare``.
- :mod:`talkinghead.train.augment`: altered copies of the training speech (voice shift, babble,
  noise, rooms, band limits); ``talkinghead train augment``.
- :mod:`talkinghead.train.model`: the torch model of :mod:`talkinghead.motion.learned`, its
  checkpoints (``.safetensors``) and its ONNX export (what inference runs, with onnxruntime);
  ``talkinghead train export``.
- :mod:`talkinghead.train.motion`: trains :mod:`talkinghead.motion.learned`; ``talkinghead train motion``.
- :mod:`talkinghead.train.dataset`: its training data (shards and altered copies in one padded array) and split.
- :mod:`talkinghead.train.compare`: learned vs rule path by self-reenactment; ``python -m talkinghead.train.compare``.

Nothing heavy is imported here (torch and MediaPipe load inside the functions that need them).
"""
