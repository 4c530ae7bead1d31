"""A small mmdet Faster R-CNN (ResNet-18, 16-channel FPN), its config and saved random weights
that favour COCO's person class, for the tests of tools that run a person detector."""
import torch


def det_config(max_per_img: int = 20, loader: str = 'LoadImageFromNDArray') -> str:
    """The config text: ``max_per_img`` boxes per image, images loaded by ``loader``."""
    return f"""
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16, fc_out_channels=32)),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img={max_per_img}), rcnn=dict(score_thr=0.0)))
test_pipeline = [
    dict(type='{loader}'),
    dict(type='Resize', scale=(256, 192), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor'))
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
"""


DET_CFG = det_config()


def save_random_detector(folder, seed=0):
    """Write ``det.py`` and ``det.pth`` (random, not zero-initialised heads: a real score spread,
    person scores around 0.65) into ``folder``; returns their paths."""
    from mmdet.apis import init_detector
    cfg, ckpt = folder / 'det.py', folder / 'det.pth'
    cfg.write_text(DET_CFG)
    torch.manual_seed(seed)
    det = init_detector(str(cfg), None, device='cpu')
    for p in det.parameters():
        torch.nn.init.normal_(p, std=0.05) if p.dim() > 1 else torch.nn.init.normal_(p, std=0.1)
    det.roi_head.bbox_head.fc_cls.bias.data[0] = 5.0  # COCO's person class (0)
    torch.save({'state_dict': det.state_dict(), 'meta': {}}, ckpt)
    return cfg, ckpt
