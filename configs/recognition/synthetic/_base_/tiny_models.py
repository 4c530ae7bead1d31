"""Shrunk model settings for the tiny CPU variants of the recognition configs (tests, smoke
runs): no pretrained weights (nothing can be downloaded), 1/8 width, fewer blocks, 5 classes.
The blocks under test (non-local / mask / relation, SE, the audio MLP and heads) are unchanged.
"""
tiny_num_classes = 5

# I3D ResNet-50 with stages of 1, 2, 2, 1 blocks at 1/8 width; 2 non-local blocks (res3, res4)
tiny_i3d_backbone = dict(
    pretrained=None,
    pretrained2d=False,
    base_channels=8,
    stage_blocks=(1, 2, 2, 1),
    inflate=((1, ), (1, 0), (1, 0), (0, )),
    non_local=((0, ), (0, 1), (0, 1), (0, )))
tiny_i3d_channels = 8 * 8 * 4

tiny_audio_base_channels = 4
tiny_audio_channels = 4 * 8 * 4
