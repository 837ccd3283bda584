"""``lumiku pose-generator seed``: load or refresh the pose library in the database."""

from __future__ import annotations

import argparse
from typing import Any

from lumiku import configured_database


def add_commands(cli: argparse._SubParsersAction[Any]) -> None:
    """Add ``pose-generator`` with its ``seed`` subcommand to the CLI."""
    parser = cli.add_parser("pose-generator", help="Pose Generator: library tools")
    commands = parser.add_subparsers(dest="pose_generator_command", required=True)
    seed = commands.add_parser(
        "seed",
        help="insert the library's categories and poses, update changed ones (idempotent)",
    )
    seed.set_defaults(func=run_seed)


def run_seed(args: argparse.Namespace) -> int:
    """Seed the library in one transaction and print what changed; 0 on success."""
    del args
    from lumiku_pose_generator.seed import seed_library

    with configured_database() as engine, engine.begin() as connection:
        report = seed_library(connection)
    print(
        f"✅ pose library seeded: categories +{report.categories_added} "
        f"~{report.categories_updated}, poses +{report.poses_added} ~{report.poses_updated}"
    )
    return 0
