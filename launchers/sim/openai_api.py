"""OpenAI-compatible request parsing and response bodies, shaped the way vLLM shapes them.

Validation raises `ApiError`, rendered as vLLM renders errors:
`{"error": {"message", "type", "param", "code"}}` with the matching HTTP status.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from launchers.sim.prompt_tokens import PromptTokenizer, chat_prompt_text

ERROR_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        kind = ERROR_TYPES.get(self.status, "BadRequestError")
        return {
            "error": {
                "message": self.message,
                "type": kind,
                "param": self.param,
                "code": self.status,
            }
        }


@dataclass(slots=True)
class ParsedRequest:
    chat: bool
    stream: bool
    include_usage: bool
    continuous_usage: bool
    prompt_keys: list[int]
    max_tokens: int
    # tokens the request will generate, and the finish reason when it gets there
    target_output: int
    final_reason: str
    priority: int


def _int_field(body: dict[str, Any], key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{key} must be an integer, got {value!r}.", key)
    if value < minimum:
        raise ApiError(400, f"{key} must be at least {minimum}, got {value}.", key)
    return value


def _prompt_keys(body: dict[str, Any], chat: bool, tokenizer: PromptTokenizer) -> list[int]:
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages: a non-empty list of messages is required.", "messages")
        if not all(isinstance(m, dict) for m in messages):
            raise ApiError(400, "messages: every message must be an object.", "messages")
        return tokenizer.keys(chat_prompt_text(messages))
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], (str, list)):
        prompt = prompt[0]
    if isinstance(prompt, str):
        return tokenizer.keys(prompt)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return list(prompt)
    if prompt is None:
        raise ApiError(400, "prompt: a prompt is required.", "prompt")
    raise ApiError(
        400,
        "prompt: expected a string or a list of token ids (one prompt; the "
        "simulator does not batch prompts).",
        "prompt",
    )


def parse_request(
    body: Any,
    *,
    chat: bool,
    request_id: str,
    served_model: str,
    max_model_len: int,
    output_len_mean: int,
    seed: int,
    tokenizer: PromptTokenizer,
    priority_enabled: bool,
) -> ParsedRequest:
    """Validate a completions (or chat) body the way vLLM does, in vLLM's order of checks."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if model is not None and model != served_model:
        raise ApiError(404, f"The model `{model}` does not exist.", "model")
    stream, options = _stream_options(body)
    _check_sampling(body)
    priority = _priority(body, priority_enabled)
    keys = _prompt_keys(body, chat, tokenizer)
    max_tokens = _max_tokens(body, chat, len(keys), max_model_len)
    target, reason = _output_target(body, max_tokens, request_id, seed, output_len_mean)
    return ParsedRequest(
        chat=chat,
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        continuous_usage=bool(options.get("continuous_usage_stats", False)),
        prompt_keys=keys,
        max_tokens=max_tokens,
        target_output=target,
        final_reason=reason,
        priority=priority,
    )


def _stream_options(body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """`stream` and its `stream_options` (only allowed with stream=true)."""
    stream = bool(body.get("stream", False))
    options = body.get("stream_options")
    if options is not None and not stream:
        raise ApiError(
            400, "Stream options can only be defined when `stream=True`.", "stream_options"
        )
    if options is not None and not isinstance(options, dict):
        raise ApiError(400, "stream_options must be an object.", "stream_options")
    return stream, options or {}


def _check_sampling(body: dict[str, Any]) -> None:
    """One choice per request; non-negative temperature and top_p (the simulator ignores both)."""
    n = body.get("n", 1)
    if n != 1:
        raise ApiError(400, f"n: only n=1 is supported by the simulator, got {n!r}.", "n")
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise ApiError(400, f"{key} must be non-negative, got {value!r}.", key)


def _priority(body: dict[str, Any], priority_enabled: bool) -> int:
    """The request's `priority`; non-zero only under scheduling_policy=priority (as vLLM)."""
    priority = body.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ApiError(400, f"priority must be an integer, got {priority!r}.", "priority")
    if priority != 0 and not priority_enabled:
        raise ApiError(
            400, f"Got priority {priority} but Priority scheduling is not enabled.", "priority"
        )
    return priority


def _max_tokens(body: dict[str, Any], chat: bool, prompt_len: int, max_model_len: int) -> int:
    """The output cap, checked with the prompt against the context length."""
    if prompt_len >= max_model_len:
        raise ApiError(
            400,
            f"This model's maximum context length is {max_model_len} tokens. "
            f"However, your request has {prompt_len} input tokens. Please reduce the "
            "length of the input messages.",
            "messages" if chat else "prompt",
        )
    max_tokens = _int_field(body, "max_completion_tokens", 1) if chat else None
    if max_tokens is None:
        max_tokens = _int_field(body, "max_tokens", 1)
    if max_tokens is None:
        # vLLM: completions default to 16 tokens (OpenAI's default); chat to the rest of the context
        max_tokens = max_model_len - prompt_len if chat else 16
    if prompt_len + max_tokens > max_model_len:
        raise ApiError(
            400,
            f"This model's maximum context length is {max_model_len} tokens. "
            f"However, you requested {prompt_len + max_tokens} tokens ({prompt_len} in "
            f"the messages, {max_tokens} in the completion). Please reduce the length "
            "of the messages or completion.",
            "max_tokens",
        )
    return max_tokens


def _output_target(
    body: dict[str, Any], max_tokens: int, request_id: str, seed: int, output_len_mean: int
) -> tuple[int, str]:
    """How many tokens the request generates and why it stops there (length or stop)."""
    min_tokens = _int_field(body, "min_tokens", 0) or 0
    if min_tokens > max_tokens:
        raise ApiError(
            400,
            f"min_tokens must be less than or equal to max_tokens={max_tokens}, got {min_tokens}.",
            "min_tokens",
        )
    if body.get("ignore_eos", False):
        return max_tokens, "length"
    natural = natural_output_len(request_id, seed, output_len_mean)
    target = min(max(natural, min_tokens, 1), max_tokens)
    return target, "length" if target == max_tokens else "stop"


def natural_output_len(request_id: str, seed: int, mean: int) -> int:
    """Where the pretend model would emit EOS: geometric with the given mean, seeded by the
    simulator seed and the request id (so it does not depend on arrival order)."""
    u = random.Random(f"{seed}:{request_id}").random()
    if mean <= 1:
        return 1
    p = 1.0 / mean
    return 1 + int(math.log(1.0 - u) / math.log(1.0 - p))


class ResponseShaper:
    """Pre-rendered pieces of one response's SSE chunks and JSON bodies."""

    def __init__(
        self,
        chat: bool,
        model: str,
        token_text: str,
        prompt_len: int,
        reasoning_tokens: int = 0,
        prompt_details: bool = False,
    ) -> None:
        self.chat = chat
        # chat only: the first `reasoning_tokens` output tokens are `reasoning` deltas
        self.reasoning_tokens = reasoning_tokens if chat else 0
        self.prompt_details = prompt_details
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())
        self.model = model
        self.token_text = token_text
        self.prompt_len = prompt_len
        self._token_json = json.dumps(token_text)[1:-1]
        obj = "chat.completion.chunk" if chat else "text_completion"
        self._head = (
            f'data: {{"id":"{self.id}","object":"{obj}","created":{self.created},'
            f'"model":{json.dumps(model)},"choices":[{{"index":0,'
        )

    def usage(self, completion_tokens: int, cached: int | None = None) -> dict[str, Any]:
        """vLLM's usage block; prompt_tokens_details when enabled and `cached` is given."""
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_len,
            "total_tokens": self.prompt_len + completion_tokens,
            "completion_tokens": completion_tokens,
        }
        if self.prompt_details and cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        return usage

    def _usage_json(self, completion_tokens: int, cached: int | None = None) -> str:
        return json.dumps(self.usage(completion_tokens, cached), separators=(",", ":"))

    def chunk(
        self,
        num_tokens: int,
        finish_reason: str | None,
        first: bool,
        usage_tokens: int | None,
        reasoning: int = 0,
    ) -> bytes:
        """One SSE event carrying `num_tokens` tokens, the first `reasoning` of them reasoning
        (usage appended when `usage_tokens` set)."""
        text = self._token_json * (num_tokens - reasoning)
        reason = "null" if finish_reason is None else f'"{finish_reason}"'
        if self.chat:
            fields = ['"role":"assistant"'] if first else []
            if reasoning:
                fields.append(f'"reasoning":"{self._token_json * reasoning}"')
            if num_tokens > reasoning or not reasoning:
                fields.append(f'"content":"{text}"')
            delta = "{" + ",".join(fields) + "}"
            body = f'"delta":{delta},"logprobs":null,"finish_reason":{reason},"stop_reason":null}}]'
        else:
            body = f'"text":"{text}","logprobs":null,"finish_reason":{reason},"stop_reason":null}}]'
        if usage_tokens is not None:
            body += f',"usage":{self._usage_json(usage_tokens)}'
        return (self._head + body + "}\n\n").encode()

    def usage_chunk(self, completion_tokens: int, cached: int | None = None) -> bytes:
        obj = "chat.completion.chunk" if self.chat else "text_completion"
        return (
            f'data: {{"id":"{self.id}","object":"{obj}","created":{self.created},'
            f'"model":{json.dumps(self.model)},"choices":[],'
            f'"usage":{self._usage_json(completion_tokens, cached)}}}\n\n'
        ).encode()

    def full(
        self, completion_tokens: int, finish_reason: str, cached: int | None = None
    ) -> dict[str, Any]:
        reasoning = min(self.reasoning_tokens, completion_tokens)
        text = self.token_text * (completion_tokens - reasoning)
        choice: dict[str, Any] = {"index": 0}
        if self.chat:
            choice["message"] = {"role": "assistant", "content": text, "tool_calls": []}
            if reasoning:
                choice["message"]["reasoning"] = self.token_text * reasoning
        else:
            choice["text"] = text
        choice.update(logprobs=None, finish_reason=finish_reason, stop_reason=None)
        return {
            "id": self.id,
            "object": "chat.completion" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": self.usage(completion_tokens, cached),
        }


DONE = b"data: [DONE]\n\n"
