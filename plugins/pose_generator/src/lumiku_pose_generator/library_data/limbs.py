"""Named arm and leg positions, the vocabulary the library's postures are written in.

Directions are ``(elevation, heading)`` in degrees (see ``posture``): elevation 0 hangs
down, 90 is horizontal, 180 points up; heading 0 is outward, 90 forward, 180 inward
(across the body), -90 backward. One name works for either side.
"""

from __future__ import annotations

from typing import Final

from lumiku_pose_generator.posture import Limb

# Arms
RELAXED: Final = Limb((8, 0), (6, 60))
AT_SIDE: Final = Limb((4, -10), (4, 10))
ON_HIP: Final = Limb((40, -20), (33, 180))
CROSSED: Final = Limb((15, 80), (95, 160))
CROSSED_HIGH: Final = Limb((22, 80), (100, 165))
CHIN: Final = Limb((50, 115), (170, 180))
WAVE: Final = Limb((85, 0), (172, 0))
UP: Final = Limb((172, 5), (176, 5))
V_UP: Final = Limb((140, 0), (145, 0))
T_OUT: Final = Limb((90, 0), (90, 0))
OUT_LOW: Final = Limb((45, 10), (50, 10))
FORWARD: Final = Limb((85, 80), (85, 80))
FORWARD_UP: Final = Limb((75, 75), (110, 110))
POINT_SIDE: Final = Limb((100, 15), (105, 15))
HOLD_CHEST: Final = Limb((30, 30), (95, 170))
HOLD_WAIST: Final = Limb((10, 60), (75, 150))
CLASPED: Final = Limb((12, 60), (50, 165))
PALM_UP: Final = Limb((15, 30), (85, 55))
PHONE: Final = Limb((30, 60), (150, -142))
MIC: Final = Limb((30, 100), (150, 150))
POCKET: Final = Limb((12, -40), (25, 150))
BEHIND: Final = Limb((15, -90), (40, -150))
HEAD_HAND: Final = Limb((120, 40), (140, 170))
FLEX: Final = Limb((90, 0), (175, 20))
CURL: Final = Limb((8, 80), (130, 90))
SELFIE: Final = Limb((120, 60), (110, 60))
PEACE: Final = Limb((40, 80), (165, 150))
THUMB_UP: Final = Limb((30, 70), (150, 90))
SHADE_EYES: Final = Limb((110, 80), (120, 170))
STRAP: Final = Limb((25, 40), (165, 170))
SWING_FRONT: Final = Limb((25, 90), (45, 95))
SWING_BACK: Final = Limb((25, -90), (15, -90))
PUMP_FRONT: Final = Limb((50, 90), (140, 95))
PUMP_BACK: Final = Limb((45, -90), (80, 90))
ON_KNEE: Final = Limb((30, 85), (40, 90))
ON_THIGH: Final = Limb((25, 70), (80, 90))
SHRUG: Final = Limb((25, 0), (90, 40))

# Legs
STAND: Final = Limb((0, 0), (0, 0))
APART: Final = Limb((8, 0), (8, 0))
WIDE: Final = Limb((20, 0), (20, 0))
STEP_FORWARD: Final = Limb((25, 90), (10, 90))
STEP_BACK: Final = Limb((20, -90), (30, -90))
CROSS_STEP: Final = Limb((18, 150), (10, 150))
RELAXED_KNEE: Final = Limb((10, 100), (5, -90))
KNEE_UP: Final = Limb((95, 90), (5, 90))
SEATED: Final = Limb((90, 90), (0, 0))
SEATED_OUT: Final = Limb((90, 75), (10, 30))
CROSS_LEGGED: Final = Limb((100, 50), (90, 170))
LUNGE_FRONT: Final = Limb((80, 90), (0, 0))
LUNGE_BACK: Final = Limb((40, -90), (80, -90))
SQUAT: Final = Limb((85, 70), (15, -70))
TREE_FOOT: Final = Limb((50, 30), (80, 180))
PRAYER_UP: Final = Limb((160, 0), (100, 180))
PRAYER_CHEST: Final = Limb((15, 60), (120, 170))
HANDS_ON_KNEES: Final = Limb((29, 10), (29, 10))
HANDS_DOWN_FRONT: Final = Limb((30, 90), (30, 100))
HEAD_HAND_HIGH: Final = Limb((120, 40), (120, 180))
DOG_ARM: Final = Limb((60, 90), (60, 90))
DOG_LEG: Final = Limb((30, -90), (30, -90))
GROUND: Final = Limb((0, 0), (0, 0))
TUCK_LEG: Final = Limb((30, 90), (70, -90))
