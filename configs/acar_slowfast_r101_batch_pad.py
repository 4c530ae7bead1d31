"""``acar_slowfast_r101.py`` with the official code's padding: to the batch's largest frame.

The report pads every frame to a square (§2.1 "zero pad the longer side to the same size in
order to simplify mini-batch training", ``PadToSquare``), 1.81x the backbone compute of a 16:9
frame (464 x 464 against 256 x 464 after rounding to 16). The official code
(github.com/Siyu-C/ACAR-Net, ``batch_pad``) pads only to the largest frame of the batch, with
one clip per GPU, i.e. not at all. Here the training pipeline has no ``PadToSquare``, so
``MeanPadDataPreprocessor`` pads the clips of each batch to the largest one (rounded up to 16):
1.0x for a batch of same-shape frames, up to the largest over the smallest frame area otherwise.
"""
_base_ = './acar_slowfast_r101.py'

train_pipeline = [step for step in _base_.train_pipeline if step['type'] != 'PadToSquare']
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
