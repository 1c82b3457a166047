"""The chatbot's intent model: trained from the labelled data packaged with Warta."""

from __future__ import annotations

import click

from warta.settings import Settings


@click.group()
def chatbot() -> None:
    """The chatbot (docs/chatbot.md)."""


@chatbot.command("train")
@click.option("--if-missing", is_flag=True, help="Only when there is no current model.")
def chatbot_train(if_missing: bool) -> None:
    """Train the intent model into $WARTA_VAR_DIR/chatbot (nothing is downloaded)."""
    from warta.services.chatbot import nlu

    var_dir = Settings().var_dir
    if if_missing:
        nlu.load_or_train(var_dir)
    else:
        nlu.train(out_path=var_dir / "chatbot" / nlu.MODEL_FILE)
    click.echo(f"chatbot model ready in {var_dir / 'chatbot'}")
