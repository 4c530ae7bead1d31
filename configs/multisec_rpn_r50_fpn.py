"""Region proposals for the multi-sec configs: mmdet's RPN on a 2D ResNet-50 FPN.

ByteDance AI Lab AVA Challenge 2019 Technical Report,
https://research.google.com/ava/challenge.html, Sec. 1.1: "We train out RPN Network with 2D
resnet50 backbone on key frames to generate off-the-shelf region proposals". This is mmdet's
``rpn_r50_fpn_1x_coco`` unchanged (model, COCO schedule, test settings: NMS at IoU 0.7, at most
1000 class-agnostic boxes per image); the report gives no RPN settings. ``tools/detect_persons.py``
recognises the ``RPN`` model and keeps the top 300 boxes per keyframe with their scores::

    tools/dist_detect_persons.sh configs/multisec_rpn_r50_fpn.py RPN.pth 8 \\
        --frames data/ava/rawframes --ann-file data/ava/annotations/ava_train_v2.2.csv \\
        --out data/ava/annotations/ava_rpn_proposals_train.pkl

Weights: the report's RPN is trained on AVA keyframes; this project ships no AVA-to-COCO
conversion of the keyframe person boxes, so ``RPN.pth`` is either mmdet's COCO-trained RPN of
this config or one the user trains on AVA keyframes with mmdet.
"""
_base_ = 'mmdet::rpn/rpn_r50_fpn_1x_coco.py'
