"""Multi-sec T = 9 with max instead of average pooling of each clip over time (Table 2: 25.3)."""
_base_ = './multisec_t9_slowfast_r50.py'

model = dict(roi_head=dict(shared_head=dict(temporal_pool='max')))
