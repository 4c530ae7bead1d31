"""``multisec_t9_slowfast_tiny.py`` with max pooling of each clip over time."""
_base_ = './multisec_t9_slowfast_tiny.py'

model = dict(roi_head=dict(shared_head=dict(temporal_pool='max')))
