"""The pose skeleton: COCO-18 keypoints in OpenPose order and the limbs that join them.

A keypoint is ``(x, y, confidence)``: ``x`` and ``y`` are normalized to the image (0..1,
origin top left, ``x`` to the right, ``y`` down) and ``confidence`` is 0..1, where 0 means
"not detected / not visible". Left and right are the person's own, as in OpenPose: a person
facing the camera has their right shoulder on the image's left.
"""

from __future__ import annotations

from typing import Final

KEYPOINT_NAMES: Final = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
"""Names of the 18 keypoints, by index (COCO-18 / OpenPose order)."""

KEYPOINT_COUNT: Final = len(KEYPOINT_NAMES)

NOSE, NECK = 0, 1
R_SHOULDER, R_ELBOW, R_WRIST = 2, 3, 4
L_SHOULDER, L_ELBOW, L_WRIST = 5, 6, 7
R_HIP, R_KNEE, R_ANKLE = 8, 9, 10
L_HIP, L_KNEE, L_ANKLE = 11, 12, 13
R_EYE, L_EYE, R_EAR, L_EAR = 14, 15, 16, 17

ARMS: Final = ((R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST))
"""Upper and lower arms, right then left."""

LEGS: Final = ((R_HIP, R_KNEE), (R_KNEE, R_ANKLE), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE))
"""Thighs and shins, right then left."""

TRUNK: Final = ((NECK, R_SHOULDER), (NECK, L_SHOULDER), (NECK, R_HIP), (NECK, L_HIP), (NECK, NOSE))
"""Shoulder girdle, the two sides of the torso and the neck."""

FACE: Final = ((NOSE, R_EYE), (R_EYE, R_EAR), (NOSE, L_EYE), (L_EYE, L_EAR))
"""Nose to eyes to ears."""

LIMBS: Final = TRUNK + ARMS + LEGS + FACE
"""The 17 bones of the OpenPose COCO-18 skeleton, as pairs of keypoint indices."""

VISIBLE_CONFIDENCE: Final = 0.1
"""Keypoints below this confidence are treated as missing (OpenPose's usual threshold)."""
