"""The annotation page as an A2I worker task template: ``review/annotation-worker-template.liquid.html``.

On AWS the tool runs inside A2I (docs/annotation.md says why): the same script and stylesheet as the
offline page (``web/annotate/``), inlined, with the task input handed over in an HTML attribute
(``task.input | to_json``, HTML-escaped by Liquid, so document text can never close the attribute or
open a tag) and the answer written to crowd-form's hidden ``entities`` field. ``make annotation-template``
rewrites the file; a test fails when the committed file differs from what this module writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from string import Template

from local.web import read_asset

TARGET = Path(__file__).resolve().parent.parent / "review" / "annotation-worker-template.liquid.html"

WRAPPER = Template("""<!--
  Amazon A2I worker task template: annotate entity documents, or adjudicate disputed ones.
  GENERATED from web/annotate/ by `make annotation-template` (python -m local.annotate_template): edit
  web/annotate/annotate.js or annotate.css, never this file.

  Input (HumanLoopInput.InputContent): {"kind": "entities" | "adjudication", "items": [{"id", "text",
    "entities": [{"BeginOffset", "EndOffset", "Type", "Score"}], "versions" (adjudication)}],
    "types": [...], "guidelines": {"<TYPE>": "..."}}
  Output (humanAnswers[].answerContent): {"entities": "<JSON of {item id: [{BeginOffset, EndOffset, Type}]}>"}
  Offsets count code points of the item's text, end exclusive (as Comprehend's annotations).

  Create it once with: aws sagemaker create-human-task-ui (docs/annotation.md, "On AWS").
-->
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
{% raw %}<style>
$css</style>{% endraw %}
<crowd-form>
  <short-instructions>
    Select text and press a type's key (1-9 or its initial) to mark an entity; click a span to resize,
    retype or delete it. Submit when every entity of every text is marked.
  </short-instructions>
  <full-instructions header="Mark the entities">
    <p>Each text was pre-annotated by the model (dotted underline). Correct it: add what is missing,
      delete what is wrong, fix boundaries and types. The guidelines per type are shown above the texts.</p>
  </full-instructions>
  <div id="task-input" hidden data-name="{{ task.input.sourceLoop | default: 'annotation' | escape }}"
       data-input="{{ task.input | to_json | escape }}"></div>
  <input type="hidden" name="entities" id="answer-field" value="">
  <p id="message" role="status" hidden></p>
  <p id="error" role="alert" hidden></p>
  <section id="task"></section>
</crowd-form>
{% raw %}<script>
$js</script>{% endraw %}
""")


def render() -> str:
    js, css = read_asset("annotate", "annotate.js"), read_asset("annotate", "annotate.css")
    for name, text in (("annotate.js", js), ("annotate.css", css)):
        if "{% endraw %}" in text or "</script" in text.lower() or "</style" in text.lower():
            raise ValueError(f"web/annotate/{name} cannot be inlined in a Liquid template")
        if not text.isascii():  # the page A2I embeds the template in may not declare UTF-8: \u escapes
            raise ValueError(f"web/annotate/{name} must be ASCII (write other characters as \\u escapes)")
    return WRAPPER.substitute(js=js, css=css)


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(TARGET.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
