"""The huggingface provider, selected by setting, against the fake inference server over HTTP."""

from __future__ import annotations

from typing import Any

from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.fake_inference import FakeResponse, fake_inference_server


def test_generations_go_to_the_inference_api_when_selected(app_client: Any, kit: Any) -> None:
    with fake_inference_server(api_key="hf_test") as server:
        client = app_client(
            AVATAR_CREATOR_PROVIDER="huggingface",
            HUGGINGFACE_API_KEY="hf_test",
            HUGGINGFACE_BASE_URL=server.base_url,
        )
        api = kit.sign_up(client)

        queued = api.generate(
            api.project(),
            prompt="portrait for a conference badge",
            personaName="Dewi",
            gender="female",
            hairColor="black",
            seed=42,
        ).json()
        done = api.wait_for(queued["generation"]["id"])
        kit.drain(client)

        assert done["status"] == "completed", done
        assert len(server.requests) == 1
        sent = server.requests[0].json()
        assert "portrait for a conference badge" in sent["inputs"]
        assert "Dewi" in sent["inputs"]
        assert "black hair" in sent["inputs"]
        assert sent["parameters"] == {
            "width": 512,
            "height": 512,
            "seed": 42,
            "negative_prompt": sent["parameters"]["negative_prompt"],
        }
        assert server.requests[0].path.startswith("/models/")
        image = client.get(done["avatar"]["imageUrl"])
        assert image.status_code == 200
        assert api.balance() == {"balance": 90, "held": 0, "available": 90}
        health = client.get("/api/apps/avatar-creator/health", headers=OPERATOR_HEADERS).json()
        assert health["checks"]["provider"]["detail"] == "huggingface"


def test_a_rejection_by_the_inference_api_fails_and_refunds(app_client: Any, kit: Any) -> None:
    with fake_inference_server(api_key="hf_test") as server:
        server.enqueue(FakeResponse.error(400, "prompt violates the content policy"))
        client = app_client(
            AVATAR_CREATOR_PROVIDER="huggingface",
            HUGGINGFACE_API_KEY="hf_test",
            HUGGINGFACE_BASE_URL=server.base_url,
        )
        api = kit.sign_up(client)

        queued = api.generate(api.project()).json()
        failed = api.wait_for(queued["generation"]["id"])
        kit.drain(client)

        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "PROVIDER_REJECTED"
        assert "content policy" in failed["error"]["message"]
        assert len(server.requests) == 1
        assert api.balance() == {"balance": 100, "held": 0, "available": 100}
