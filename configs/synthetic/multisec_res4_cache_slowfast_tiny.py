"""The synthetic stage-1 model (``multisec_baseline_slowfast_tiny.py``) at the fixed frame size
of the synthetic res4 cache (``configs/multisec_res4_cache_slowfast_r50.py``): the generator's
144 x 256 frames at 80 px high, 80 x 142 (res4 5 x 9)."""
_base_ = './multisec_baseline_slowfast_tiny.py'

res4_img_shape = (80, 142)
synthetic_benchmark = False  # writes the res4 cache; the head is the baseline's

val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=1, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=res4_img_shape[::-1], keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]))
test_dataloader = val_dataloader
