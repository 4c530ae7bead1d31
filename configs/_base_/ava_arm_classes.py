"""The AVA "arm action" classes: actions decided by what one arm or hand does.

Fujitsu's AVA-Kinetics 2020 report, "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1) trains an arm-region model on "an 'AVA
arm action dataset' with 27 arm action classes, such as 'point to' and 'throw'" but does not list
them; this list is ours: the 27 of the 60 evaluated AVA v2.2 classes whose evidence is mostly in
the arm region (arm motion, or an object in the hand), the report's examples (point to, throw, hit
(an object), cut) included. Left out as whole-body or gaze actions although arms take part:
carry/hold (an object), text on/look at a cellphone, work on a computer, hug, lift (a person),
push (another person).

Every key starts with ``arm_`` so the file can sit in a ``_base_`` list beside a real config.
"""
arm_classes = {
    15: 'answer phone',  # the hand brings the phone to the ear
    22: 'close (e.g., a door, a box)',  # arm pushes or pulls a lid or door shut
    24: 'cut',  # the hand holds and moves a knife or scissors
    27: 'drink',  # the hand lifts a cup or bottle to the mouth
    29: 'eat',  # the hand brings food or cutlery to the mouth
    34: 'hit (an object)',  # an arm swing striking an object (report's example)
    36: 'lift/pick up',  # the hand grasps and raises an object
    38: 'open (e.g., a window, a car door)',  # arm pulls or pushes a handle
    41: 'play musical instrument',  # fingers and hands on the instrument
    43: 'point to (an object)',  # an extended arm and index finger (report's example)
    45: 'pull (an object)',  # the arm draws an object towards the body
    46: 'push (an object)',  # the arm moves an object away from the body
    47: 'put down',  # the hand lowers and releases an object
    52: 'shoot',  # both hands hold and aim a weapon
    54: 'smoke',  # the hand brings a cigarette to the mouth
    56: 'take a photo',  # the hands raise and hold a camera
    58: 'throw',  # an arm swing releasing an object (report's example)
    59: 'touch (an object)',  # the hand in contact with an object
    60: 'turn (e.g., a screwdriver)',  # wrist rotation of a hand-held tool or knob
    63: 'write',  # the hand moves a pen on paper or a board
    64: 'fight/hit (a person)',  # arm strikes aimed at another person
    65: 'give/serve (an object) to (a person)',  # the hand holds out an object
    66: 'grab (a person)',  # the hand seizes another person
    67: 'hand clap',  # both hands meet
    68: 'hand shake',  # the hands of two persons clasp
    69: 'hand wave',  # the raised hand moves side to side
    78: 'take (an object) from (a person)',  # the hand receives an object
}
#: dataset ``custom_classes``, bbox-head ``class_ids`` and metric ``custom_classes``
arm_class_ids = sorted(arm_classes)
arm_num_classes = len(arm_class_ids) + 1  # + the background column, as AVA's 80 + 1
