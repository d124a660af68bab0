"""The official Anthropic Python SDK against gavel's `/v1/messages`, with strict response validation: every answer
must be a valid Anthropic object, event for event. Run by tests/api/gateway_sdk.rs with GAVEL_BASE (http://host:port)
and GAVEL_KEY (a gv_ key of an org whose anthropic and openai keys point at the fake provider). `claude-*` models
pass through to Anthropic's wire, `gpt-*` ones are translated to OpenAI's and back. Exits non-zero on any failure.

Requires: pip install anthropic==2.14.0
"""

import os
import sys

import anthropic
from anthropic import Anthropic

MODELS = ["claude-3-5-haiku-latest", "gpt-4o-mini"]
WEATHER = {
    "name": "get_weather",
    "description": "the weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def main() -> int:
    base, key = os.environ["GAVEL_BASE"], os.environ["GAVEL_KEY"]
    client = Anthropic(base_url=base, api_key=key, max_retries=0, _strict_response_validation=True)
    messages = [{"role": "user", "content": "hello"}]

    for model in MODELS:
        # Whole answer, with gavel's headers.
        raw = client.messages.with_raw_response.create(model=model, max_tokens=64, system="be brief", messages=messages)
        assert raw.headers["x-gavel-provider"] in ("anthropic", "openai"), raw.headers
        assert len(raw.headers["x-request-id"]) == 32, raw.headers
        msg = raw.parse()
        assert msg.type == "message" and msg.role == "assistant", msg
        assert msg.content[0].type == "text" and msg.content[0].text, (model, msg)
        assert msg.stop_reason == "end_turn", (model, msg)
        assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0, (model, msg)

        # Streaming with the helper: text deltas, then the final message with its usage.
        with client.messages.stream(model=model, max_tokens=64, messages=messages) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text and final.content[0].text == text, (model, text, final)
        assert final.stop_reason == "end_turn", (model, final)
        assert final.usage.output_tokens > 0, (model, final)

        # Raw events in Anthropic's order.
        events = [e.type for e in client.messages.create(model=model, max_tokens=64, messages=messages, stream=True)]
        assert events[0] == "message_start" and events[-1] == "message_stop", (model, events)
        assert "content_block_delta" in events and "message_delta" in events, (model, events)

        # Tools, streamed: the input JSON arrives in pieces and is assembled into a tool_use block.
        with client.messages.stream(
            model=model,
            max_tokens=64,
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[WEATHER],
        ) as stream:
            kinds = {event.type for event in stream}
            final = stream.get_final_message()
        assert "input_json" in kinds, (model, kinds)
        use = [b for b in final.content if b.type == "tool_use"]
        assert use and use[0].name == "get_weather" and use[0].input == {"city": "Paris"}, (model, final)
        assert use[0].id, (model, final)
        assert final.stop_reason == "tool_use", (model, final)

        # The tool result goes back and the model answers in text.
        follow = client.messages.create(
            model=model,
            max_tokens=64,
            tools=[WEATHER],
            messages=[
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": use[0].id, "name": "get_weather",
                                                   "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use[0].id, "content": "sunny"}]},
            ],
        )
        assert follow.content[0].type == "text" and follow.stop_reason == "end_turn", (model, follow)

    # Errors in Anthropic's shape, raised as the SDK's own classes.
    try:
        client.messages.create(model="mystery-9000", max_tokens=5, messages=messages)
        raise AssertionError("an unknown model must fail")
    except anthropic.NotFoundError as e:
        assert e.body["type"] == "error" and e.body["error"]["type"] == "not_found_error", e.body
    try:
        Anthropic(base_url=base, api_key="gv_" + "x" * 40, max_retries=0).messages.create(
            model=MODELS[0], max_tokens=5, messages=messages
        )
        raise AssertionError("an unknown gv_ key must fail")
    except anthropic.AuthenticationError as e:
        assert e.status_code == 401

    print("anthropic", anthropic.__version__, "SDK checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
