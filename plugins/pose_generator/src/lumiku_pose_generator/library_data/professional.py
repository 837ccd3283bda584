"""Poses of the professional group: portraits, headshots, speaking, the office."""

from __future__ import annotations

from typing import Final

from lumiku_pose_generator.library_data import limbs as lm
from lumiku_pose_generator.library_data.seeds import (
    BEGINNER,
    INTERMEDIATE,
    MALE,
    UNISEX,
    PoseSeed,
)
from lumiku_pose_generator.posture import Limb, Posture

POSES: Final = (
    PoseSeed(
        "business-portraits",
        "Confident Arms Crossed",
        "Standing square to the camera, arms folded across the chest, chin level.",
        ("arms crossed", "confident", "standing", "portrait"),
        BEGINNER,
        UNISEX,
        Posture(lm.CROSSED, lm.CROSSED, lm.APART, lm.APART),
        featured=True,
    ),
    PoseSeed(
        "business-portraits",
        "Hands on Hips Power Pose",
        "Feet apart, both hands on the hips, elbows out: a leader's stance.",
        ("hands on hips", "power pose", "confident"),
        BEGINNER,
        MALE,
        Posture(lm.ON_HIP, lm.ON_HIP, lm.WIDE, lm.WIDE),
    ),
    PoseSeed(
        "business-portraits",
        "Hand in Pocket",
        "Three-quarter turn, one hand in the trouser pocket, the other holding the jacket's lapel.",
        ("hand in pocket", "relaxed", "three-quarter"),
        BEGINNER,
        MALE,
        Posture(
            lm.POCKET, Limb((20, 80), (120, 160)), lm.STAND, lm.RELAXED_KNEE, yaw=-30, head_turn=20
        ),
    ),
    PoseSeed(
        "business-portraits",
        "Adjusting the Cuff",
        "Turned to the side, one hand adjusting the cuff of the other sleeve at chest height.",
        ("cuff", "suit", "detail", "three-quarter"),
        INTERMEDIATE,
        MALE,
        Posture(
            lm.HOLD_CHEST, Limb((20, 85), (95, 140)), lm.STAND, lm.APART, yaw=60, head_turn=-40
        ),
        premium=True,
    ),
    PoseSeed(
        "corporate-headshots",
        "Straight-On Headshot",
        "Facing the camera square on, shoulders level, arms resting at the sides.",
        ("headshot", "front", "neutral"),
        BEGINNER,
        UNISEX,
        Posture(lm.AT_SIDE, lm.AT_SIDE, lm.APART, lm.APART),
    ),
    PoseSeed(
        "corporate-headshots",
        "Three-Quarter Turn",
        "Body turned away by a third, head back to the camera.",
        ("headshot", "three-quarter", "classic"),
        BEGINNER,
        UNISEX,
        Posture(lm.BEHIND, lm.BEHIND, lm.STAND, lm.STAND, yaw=60, head_turn=-50),
    ),
    PoseSeed(
        "corporate-headshots",
        "Thoughtful Chin Rest",
        "One hand under the chin, the other arm folded beneath its elbow.",
        ("chin on hand", "thoughtful", "headshot"),
        INTERMEDIATE,
        UNISEX,
        Posture(lm.CHIN, lm.CROSSED, lm.STAND, lm.APART, yaw=-15, head_tilt=8),
    ),
    PoseSeed(
        "corporate-headshots",
        "Over-the-Shoulder Look",
        "Turned away from the camera, one hand on the hip, face looking back over the shoulder.",
        ("over the shoulder", "headshot", "profile"),
        INTERMEDIATE,
        UNISEX,
        Posture(lm.AT_SIDE, lm.ON_HIP, lm.STAND, lm.STAND, yaw=100, head_turn=-80),
    ),
    PoseSeed(
        "conference-speaking",
        "Open-Palm Gesture",
        "Both forearms forward, palms up, explaining to the audience.",
        ("speaking", "gesture", "open palms"),
        BEGINNER,
        UNISEX,
        Posture(lm.PALM_UP, lm.PALM_UP, lm.APART, lm.APART, yaw=-20),
    ),
    PoseSeed(
        "conference-speaking",
        "Pointing to the Screen",
        "One arm raised to the side pointing at a slide, body turned to the audience.",
        ("pointing", "presentation", "slide"),
        BEGINNER,
        UNISEX,
        Posture(lm.POINT_SIDE, lm.RELAXED, lm.STAND, lm.APART, yaw=20, head_turn=-30),
    ),
    PoseSeed(
        "conference-speaking",
        "Holding a Microphone",
        "Microphone held near the mouth, the free hand relaxed.",
        ("microphone", "speaker", "stage"),
        BEGINNER,
        UNISEX,
        Posture(lm.MIC, Limb((12, 30), (70, 80)), lm.STAND, lm.RELAXED_KNEE),
    ),
    PoseSeed(
        "conference-speaking",
        "Podium Lean",
        "Leaning slightly forward with both hands resting on a lectern.",
        ("podium", "lectern", "speaker"),
        INTERMEDIATE,
        MALE,
        Posture(
            Limb((35, 60), (45, 80)), Limb((35, 60), (45, 80)), lm.APART, lm.APART, yaw=-30, lean=15
        ),
    ),
    PoseSeed(
        "office-workspace",
        "Typing at the Desk",
        "Seated upright, forearms forward on the keyboard.",
        ("seated", "desk", "laptop", "typing"),
        BEGINNER,
        UNISEX,
        Posture(Limb((15, 85), (80, 110)), Limb((15, 85), (80, 110)), lm.SEATED, lm.SEATED, 35),
    ),
    PoseSeed(
        "office-workspace",
        "Phone Call at the Window",
        "Standing, phone held to the ear, free hand in the pocket.",
        ("phone", "call", "standing"),
        BEGINNER,
        MALE,
        Posture(lm.PHONE, lm.POCKET, lm.STAND, lm.RELAXED_KNEE, yaw=-25),
    ),
    PoseSeed(
        "office-workspace",
        "Perched on the Desk Edge",
        "Half sitting on the edge of a desk, hands resting behind on its top.",
        ("desk", "casual", "leaning", "seated"),
        INTERMEDIATE,
        MALE,
        Posture(
            Limb((30, -60), (20, -70)),
            Limb((30, -60), (20, -70)),
            Limb((20, 90), (20, 90)),
            Limb((15, 80), (18, 80)),
            yaw=60,
        ),
    ),
    PoseSeed(
        "office-workspace",
        "Walking with Coffee",
        "Mid-stride through the office with a coffee cup in one hand.",
        ("walking", "coffee", "candid"),
        BEGINNER,
        UNISEX,
        Posture(lm.CURL, lm.SWING_BACK, lm.STEP_FORWARD, lm.STEP_BACK, yaw=-40),
    ),
)
