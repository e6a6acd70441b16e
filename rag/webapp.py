"""The researcher's chat app (Gradio): ask, read a short answer with a citation chip after every
claim, click a chip to see the paragraph's whole text with the supporting sentence highlighted; choose
the documents asked of, add and remove documents, export with footnotes, and find past conversations
after a reload. The only module that imports gradio; everything it shows comes from `rag`'s typed API."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag.chat import ChatService
from rag.embed import embedder_for
from rag.errors import BadInput, RagError
from rag.export import answer_markdown, conversation_markdown
from rag.labels import label
from rag.render import answer_html, evidence, neighbours_html, others_html, panel_html, quote, text, waiting_html
from rag.settings import Settings
from rag.types import Answer, Citation

log = logging.getLogger(__name__)

EXAMPLES = [
    "How many Member States contributed to the report?",
    "Can evidence from secret surveillance be used in court?",
    "What does resolution 2768 demand of the Houthis?",
    "What does the Secretary-General say about prisons?",
]
PANEL_HINT = "<p class='hint'>Click a citation in an answer to see the paragraph it cites.</p>"

CSS = """
a.cite { display: inline-block; padding: 0 .45em; margin: 0 .1em; border-radius: .8em; font-size: .85em;
         background: #e8eefc; color: #1d3f8f !important; text-decoration: none !important; white-space: nowrap; }
a.cite:hover { background: #cbd9fb; }
q.quote { color: #555; font-style: italic; }
q.quote::before { content: "— “"; }
.evidence h3 { margin: 0 0 .2em 0; }
.evidence .meta, .doc-title { color: #555; font-size: .9em; }
.evidence blockquote { white-space: pre-wrap; border-left: 3px solid #9bb1e6; padding-left: .8em; margin: .6em 0; }
mark { background: #fff0a8; padding: 0 .1em; }
.waiting { color: #666; font-style: italic; }
#cite-key, #cite-go { display: none !important; }
"""

# A click on a citation chip (in the chat or the panel) is passed to the server through a hidden
# textbox and button: Gradio's chat has no per-link event.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const box = document.querySelector('#cite-key textarea, #cite-key input');
    box.value = link.getAttribute('href').slice('#cite-'.length);
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.querySelector('#cite-go').click(), 30);
  }, true);
}
"""
COPY = "(value) => { navigator.clipboard.writeText(value); return value; }"


def _owner(request: gr.Request | None) -> str:
    return (request.username if request is not None and request.username else None) or "local"


def _problem(exc: Exception) -> str:
    """One sentence for the chat, never a stack trace."""
    if isinstance(exc, RagError):
        message = str(exc)
        return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")
    log.exception("answering failed")
    return f"Something went wrong while answering ({type(exc).__name__}); the server log has the details."


def build(app: ChatService, export_dir: Path) -> gr.Blocks:
    """The page: chat and evidence side by side; library and settings in their own tabs."""
    with gr.Blocks(title="Paracite") as demo:
        conversation = gr.State(None)  # this browser's current conversation id
        shown = gr.State(None)  # (turn, evidence index) of the unit in the evidence panel
        gr.Markdown("## Paracite — cited answers from UN documents")
        status = gr.Markdown("Opening the library…", elem_id="status")
        timer = gr.Timer(1.0)
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row():
                        past = gr.Dropdown(label="Conversations", choices=[], scale=4, elem_id="past")
                        new = gr.Button("New conversation", scale=1, size="sm")
                    chat = gr.Chatbot(label="Answers", height=520, elem_id="chat", buttons=[])  # copying: as Markdown
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask about the documents…",
                            show_label=False,
                            scale=6,
                            elem_id="question",
                            submit_btn=True,
                            stop_btn=True,
                        )
                    gr.Examples(EXAMPLES, inputs=box, label="Try")
                    with gr.Row():
                        copy_md = gr.Button("Copy last answer as Markdown", size="sm")
                        answer_file = gr.DownloadButton("Download answer (.md)", size="sm", value=None)
                        conversation_file = gr.DownloadButton("Download conversation (.md)", size="sm", value=None)
                    last_md = gr.Textbox(visible=False)
                with gr.Column(scale=2):
                    panel = gr.HTML(PANEL_HINT, elem_id="evidence")
                    with gr.Row():
                        copy_cite = gr.Button("Copy citation", size="sm")
                        copy_quote = gr.Button("Copy quote with citation", size="sm")
                        around = gr.Button("Neighbouring paragraphs", size="sm")
                    neighbours = gr.HTML("", elem_id="neighbours")
                    with gr.Accordion("Retrieved but not cited", open=False):
                        others = gr.HTML("", elem_id="others")
                    flag = gr.Button("Flag: wrong citation", size="sm", variant="secondary")
                    flagged = gr.Markdown("")
                    citation_text = gr.Textbox(visible=False)
                    quote_text = gr.Textbox(visible=False)
                    with gr.Accordion("Ask questions of", open=True):
                        scope = gr.CheckboxGroup(
                            choices=[], label="Only these documents (none ticked: the whole library)", elem_id="scope"
                        )
            cite_key = gr.Textbox(elem_id="cite-key", show_label=False, container=False)
            cite_go = gr.Button("open", elem_id="cite-go")
        with gr.Tab("Library"):
            library = gr.Dataframe(
                headers=["Symbol", "Title", "Date", "Pages", "Numbered paragraphs", "Footnotes"],
                interactive=False,
                elem_id="library",
                wrap=True,
            )
            gr.Markdown(
                "The library is shared by everyone who uses this server. Uploaded files are kept in the index folder."
            )
            with gr.Row():
                uploads = gr.File(
                    label="Add PDF or text files", file_count="multiple", file_types=[".pdf", ".txt"], elem_id="upload"
                )
                with gr.Column():
                    password = gr.Textbox(label="Password (encrypted PDFs only)", type="password")
                    add = gr.Button("Add to library", variant="primary", elem_id="add")
            outcome = gr.Markdown("", elem_id="outcome")
            with gr.Row():
                doomed = gr.Dropdown(label="Remove a document", choices=[], scale=3)
                drop = gr.Button("Remove", variant="stop", scale=1)
        with gr.Tab("Settings"):
            backend = gr.Dropdown(
                app.backends(),
                value=app.settings.llm,
                label="Answer backend",
                info="extractive quotes the paragraphs (no LLM); local runs the shipped model; "
                "LLM questions are answered one at a time, in turn",
            )
            k = gr.Slider(1, 10, value=5, step=1, label="Paragraphs retrieved for each answer")

        def library_views():
            summaries = app.live.summaries()
            rows = [[s.id, s.title, s.date, s.pages, len(s.paragraphs), s.footnotes] for s in summaries]
            ids = [s.id for s in summaries]
            return rows, gr.update(choices=ids, value=[]), gr.update(choices=ids, value=None)

        def tick():
            state = app.live.status
            if state.error:
                failed = f"**The library could not be opened:** {text(state.error)}"
                return failed, gr.Timer(active=False), *[gr.skip()] * 3
            if not state.ready:
                return (
                    f"**Preparing the library** — {state.stage} ({state.fraction:.0%}). The first start indexes "
                    "the default corpus; this takes a few minutes.",
                    gr.Timer(),
                    *[gr.skip()] * 3,
                )
            return "", gr.Timer(active=False), *library_views()

        timer.tick(tick, outputs=[status, timer, library, scope, doomed], api_visibility="private")

        def messages(turns) -> list[dict]:
            out = []
            for turn in turns:
                out += [
                    {"role": "user", "content": text(turn.answer.question)},
                    {"role": "assistant", "content": answer_html(turn.id, turn.answer)},
                ]
            return out

        def export_files(conv: int | None, owner: str):
            turns = app.history.turns(conv, owner) if conv else []
            if not turns:
                return "", gr.update(value=None), gr.update(value=None)
            documents = app.live.documents() if app.live.status.ready else {}
            last = answer_markdown(turns[-1].answer, documents)
            whole = conversation_markdown([t.answer for t in turns], documents)
            one, many = export_dir / f"answer-{turns[-1].id}.md", export_dir / f"conversation-{conv}.md"
            one.write_text(last, encoding="utf-8")
            many.write_text(whole, encoding="utf-8")
            return last, gr.update(value=str(one)), gr.update(value=str(many))

        def conversations(owner: str, value: int | None):
            items = [(f"{c.title[:70]}", c.id) for c in app.history.conversations(owner)]
            return gr.update(choices=items, value=value)

        def load(request: gr.Request):
            owner = _owner(request)
            found = app.history.conversations(owner)
            conv = found[0].id if found else None
            turns = app.history.turns(conv, owner) if conv else []
            return (conv, messages(turns), conversations(owner, conv), *export_files(conv, owner), *tick())

        demo.load(
            load,
            outputs=[
                conversation,
                chat,
                past,
                last_md,
                answer_file,
                conversation_file,
                status,
                timer,
                library,
                scope,
                doomed,
            ],
            api_visibility="private",
        )

        def pick(conv: int | None, request: gr.Request):
            owner = _owner(request)
            turns = app.history.turns(conv, owner) if conv else []
            return (conv, messages(turns), PANEL_HINT, "", "", *export_files(conv, owner))

        past.input(
            pick,
            inputs=past,
            outputs=[conversation, chat, panel, neighbours, others, last_md, answer_file, conversation_file],
            api_visibility="private",
        )
        new.click(
            lambda: (None, [], PANEL_HINT, "", "", gr.update(value=None), "", None, None),
            outputs=[conversation, chat, panel, neighbours, others, past, last_md, answer_file, conversation_file],
            api_visibility="private",
        )

        def respond(
            question: str, history_: list, conv: int | None, docs: list[str], spec: str, k_: int, request: gr.Request
        ):
            owner = _owner(request)
            question = " ".join((question or "").split())
            if not question:
                yield gr.skip(), history_, conv, *[gr.skip()] * 5
                return
            history_ = [
                *history_,
                {"role": "user", "content": text(question)},
                {"role": "assistant", "content": waiting_html("Searching the documents…")},
            ]
            yield "", history_, conv, *[gr.skip()] * 5
            result: Answer | None = None
            try:
                for item in app.ask(question, docs=docs, backend=spec, k=int(k_)):
                    if isinstance(item, Answer):
                        result = item
                    else:
                        history_[-1] = {"role": "assistant", "content": waiting_html(item)}
                        yield "", history_, conv, *[gr.skip()] * 5
            except Exception as exc:  # noqa: BLE001 - every failure is one sentence in the chat
                history_[-1] = {"role": "assistant", "content": waiting_html(_problem(exc))}
                yield "", history_, conv, *[gr.skip()] * 5
                return
            if result is None:
                history_[-1] = {"role": "assistant", "content": waiting_html("Stopped.")}
                yield "", history_, conv, *[gr.skip()] * 5
                return
            conv = conv or app.history.start(owner, question)
            turn = app.history.add(conv, result)
            history_[-1] = {"role": "assistant", "content": answer_html(turn, result)}
            yield (
                "",
                history_,
                conv,
                conversations(owner, conv),
                *export_files(conv, owner),
                others_html(turn, result),
            )

        asking = box.submit(
            respond,
            inputs=[box, chat, conversation, scope, backend, k],
            outputs=[box, chat, conversation, past, last_md, answer_file, conversation_file, others],
            api_visibility="private",
            concurrency_limit=32,
        )
        box.stop(None, cancels=[asking], api_visibility="private")  # closing `respond` ends an LLM's generation

        def open_citation(key: str, request: gr.Request):
            owner = _owner(request)
            try:
                turn_id, index = (int(part) for part in key.split("-"))
            except ValueError:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            turn = app.history.turn(turn_id, owner)
            if turn is None or not 0 <= index < len(evidence(turn.answer)):
                return "<p>This citation is no longer available.</p>", None, "", "", "", ""
            citation = evidence(turn.answer)[index]
            claims = [s.text for s in turn.answer.sentences if citation in s.citations]
            documents = app.live.documents() if app.live.status.ready else {}
            html = panel_html(citation, documents.get(citation.doc), claims, cited=citation in turn.answer.citations)
            return (
                html,
                (turn_id, index),
                "",
                others_html(turn_id, turn.answer),
                f"{label(citation.doc, citation.para)}.",
                quote(citation, claims),
            )

        cite_go.click(
            open_citation,
            inputs=cite_key,
            outputs=[panel, shown, neighbours, others, citation_text, quote_text],
            api_visibility="private",
        )

        def show_neighbours(where, request: gr.Request):
            citation = _shown(app, where, request)
            if citation is None:
                return "<p>Click a citation first.</p>"
            searcher = app.live.searcher
            row = searcher.data.row_of.get((citation.doc, citation.para))
            if row is None:
                return "<p>This document is no longer in the library.</p>"
            units = searcher.units
            before = units[row - 1] if row > 0 and units[row - 1].doc == citation.doc else None
            after = units[row + 1] if row + 1 < len(units) and units[row + 1].doc == citation.doc else None
            return neighbours_html(before, after)

        around.click(show_neighbours, inputs=shown, outputs=neighbours, api_visibility="private")
        copy_cite.click(None, inputs=citation_text, js=COPY, api_visibility="private")
        copy_quote.click(None, inputs=quote_text, js=COPY, api_visibility="private")
        copy_md.click(None, inputs=last_md, js=COPY, api_visibility="private")

        def flag_it(where, conv: int | None, request: gr.Request):
            owner = _owner(request)
            turn_id = where[0] if where else None
            if turn_id is None and conv:
                turns = app.history.turns(conv, owner)
                turn_id = turns[-1].id if turns else None
            if turn_id is None or app.history.turn(turn_id, owner) is None:
                return "Ask a question first."
            app.history.flag(turn_id, "wrong citation")
            return "Flagged. Thank you: flagged answers become test questions (`rag flagged`)."

        flag.click(flag_it, inputs=[shown, conversation], outputs=flagged, api_visibility="private")

        def add_files(files, secret: str, progress=gr.Progress()):  # noqa: B008 - Gradio's progress idiom
            if not files:
                return "Choose PDF or text files first.", gr.skip(), gr.skip(), gr.skip(), None
            items = [
                (
                    Path(getattr(f, "orig_name", None) or f).name if not isinstance(f, str) else Path(f).name,
                    Path(f if isinstance(f, str) else f.name),
                )
                for f in files
            ]
            results = app.live.add(
                items, password=secret or None, on_progress=lambda stage, fraction: progress(fraction, desc=stage)
            )
            lines = "\n".join(f"- {'✅' if o.ok else '❌'} {text(o.message)}" for o in results)
            return lines, *library_views(), None

        add.click(
            add_files,
            inputs=[uploads, password],
            outputs=[outcome, library, scope, doomed, uploads],
            api_visibility="private",
            concurrency_limit=1,
        )

        def remove_doc(doc: str | None):
            if not doc:
                return "Choose a document to remove.", gr.skip(), gr.skip(), gr.skip()
            try:
                removed = app.live.remove(doc)
            except RagError as exc:
                return text(_problem(exc)), gr.skip(), gr.skip(), gr.skip()
            return f"Removed {text(removed.id)}.", *library_views()

        drop.click(
            remove_doc,
            inputs=doomed,
            outputs=[outcome, library, scope, doomed],
            api_visibility="private",
            concurrency_limit=1,
        )

        def api_chat(question: str) -> str:
            """The answer to `question` from the whole library, as Markdown with footnotes."""
            result = _final(app.ask(question, docs=None, backend=app.settings.llm, k=5))
            return answer_markdown(result, app.live.documents())

        def api_ask(question: str, llm: str = "", k: int = 5, docs: list[str] | None = None) -> dict:
            """The same JSON as `rag ask --jsonl`."""
            return _final(app.ask(question, docs=docs or None, backend=llm or app.settings.llm, k=int(k))).to_json()

        gr.api(api_chat, api_name="chat", concurrency_limit=32)
        gr.api(api_ask, api_name="ask", concurrency_limit=32)
    return demo


def _final(items: Iterator[Answer | str]) -> Answer:
    """The answer at the end of `items`; a failure is one sentence for the API's caller (gr.Error)."""
    result = None
    try:
        for item in items:
            if isinstance(item, Answer):
                result = item
    except Exception as exc:  # noqa: BLE001 - the caller gets one sentence, the log the details
        raise gr.Error(_problem(exc), print_exception=False) from None
    if result is None:
        raise gr.Error("No answer was produced.", print_exception=False)
    return result


def _shown(app: ChatService, where, request: gr.Request) -> Citation | None:
    if not where:
        return None
    turn = app.history.turn(where[0], _owner(request))
    items = evidence(turn.answer) if turn else []
    return items[where[1]] if where[1] < len(items) else None


def launch(settings: Settings | None = None) -> None:
    """Open the library in the background and serve the app (blocks until the server stops)."""
    settings = settings or Settings()
    auth = None
    if settings.app_auth is not None:
        pairs = [p.split(":", 1) for p in settings.app_auth.get_secret_value().split(",") if p.strip()]
        if not pairs or any(len(p) != 2 or not p[0] for p in pairs):
            raise BadInput("RAG_APP_AUTH must be user:password pairs separated by commas")
        auth = [(user.strip(), secret) for user, secret in pairs]
    app = ChatService(settings, embedder_for(settings))
    export_dir = Path(tempfile.mkdtemp(prefix="paracite-export-"))  # Markdown downloads, served from here
    threading.Thread(target=app.live.open, daemon=True).start()  # the page is served meanwhile, with progress
    build(app, export_dir).queue(default_concurrency_limit=8).launch(
        server_name=settings.app_host,
        server_port=settings.app_port,
        auth=auth,
        css=CSS,
        js=JS,
        max_file_size=f"{settings.upload_max_mb}mb",
        show_error=False,
        footer_links=["api"],
        allowed_paths=[str(export_dir)],
    )
