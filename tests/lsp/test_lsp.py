"""End to end: `stackc lsp` driven over stdio by a real LSP client (pytest-lsp).

Run by tests/lsp_cli.rs (which passes the binary as STACKC_BIN), or by hand:
    STACKC_BIN=target/debug/stackc /work/venv/bin/python -m pytest tests/lsp
Each test works on its own copy of examples/shop, with its own cache
directory (where the server writes the stdlib's read-only copies).
"""

import asyncio
import os
import pathlib
import shutil
import stat
import subprocess

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("STACKC_BIN", str(ROOT / "target" / "debug" / "stackc"))
CACHE = pathlib.Path(os.environ.get("STACKC_LSP_TEST_CACHE", "/tmp/stackc-lsp-test-cache")) / str(os.getpid())


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[BIN, "lsp"], server_env={**os.environ, "XDG_CACHE_HOME": str(CACHE)}),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    )
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def shop(tmp_path):
    dest = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", dest)
    return dest


def uri(path: pathlib.Path) -> str:
    return path.as_uri()


class Doc:
    """An open buffer: its text and version."""

    def __init__(self, client: LanguageClient, path: pathlib.Path):
        self.client, self.path, self.uri = client, path, uri(path)
        self.text = path.read_text()
        self.version = 1
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id="stackc", version=self.version, text=self.text
                )
            )
        )

    def edit(self, old: str, new: str):
        assert old in self.text, old
        self.text = self.text.replace(old, new, 1)
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=self.text)],
            )
        )

    def position(self, needle: str, delta: int = 0) -> types.Position:
        """The position of `needle` (plus `delta` characters), ASCII text."""
        offset = self.text.index(needle) + delta
        before = self.text[:offset]
        return types.Position(line=before.count("\n"), character=len(before) - (before.rfind("\n") + 1))

    def ident(self):
        return types.TextDocumentIdentifier(uri=self.uri)


async def diagnostics_for(client: LanguageClient, doc: Doc):
    """The diagnostics published for `doc` at its current version (waits
    for them, at most 60 seconds: a bound, not a timing assertion)."""
    versions = client._stackc_versions
    for _ in range(3000):
        if versions.get(doc.uri) == doc.version:
            return list(client.diagnostics[doc.uri])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no diagnostics for {doc.uri} at version {doc.version}: {versions}")


@pytest.fixture(autouse=True)
def record_versions(client: LanguageClient):
    """Remembers the version of each uri's last published diagnostics
    (pytest-lsp keeps only the list)."""
    versions = {}
    client._stackc_versions = versions
    features = client.protocol.fm.features
    original = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def on_publish(params: types.PublishDiagnosticsParams):
        original(params)
        versions[params.uri] = params.version

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = on_publish


async def test_a_typo_is_reported_at_its_place_with_its_code_and_cleared_when_fixed(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    assert await diagnostics_for(client, main) == []

    main.edit("image       = var.api_image", "image       = var.api_imag")
    found = await diagnostics_for(client, main)
    assert len(found) == 1, found
    problem = found[0]
    assert problem.code == "E0201", problem
    assert problem.severity == types.DiagnosticSeverity.Error
    start = main.position("var.api_imag")
    assert problem.range.start.line == start.line
    assert start.character <= problem.range.start.character < problem.range.end.character
    assert problem.range.end.character <= start.character + len("var.api_imag")
    assert "api_image" in problem.message  # the help: did you mean
    assert problem.code_description.href.endswith("/codes/E0201.md")
    assert pathlib.Path(problem.code_description.href.removeprefix("file://")).read_text().startswith("#")

    main.edit("var.api_imag", "var.api_image")
    assert await diagnostics_for(client, main) == []


async def test_a_syntax_error_in_one_file_leaves_the_others_checked(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    targets = Doc(client, shop / "targets.stack.hcl")
    await diagnostics_for(client, targets)
    targets.edit('target "local" {}', 'target "local" {')
    main.edit("image       = var.api_image", "image       = var.api_imag")
    syntax = await diagnostics_for(client, targets)
    assert [d.code for d in syntax] == ["E0101"], syntax
    assert "E0201" in [d.code for d in await diagnostics_for(client, main)]


async def test_hover_shows_types_values_and_docs(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)

    def hover(needle, delta=0):
        return client.text_document_hover_async(
            types.HoverParams(text_document=main.ident(), position=main.position(needle, delta))
        )

    variable = await hover("var.api_replicas", 5)
    assert "variable api_replicas: number" in variable.contents.value
    assert "Value: `4`" in variable.contents.value
    instance = await hover('service "api"', 1)
    assert "component" in instance.contents.value and "service" in instance.contents.value
    param = await hover("replicas    = var", 1)
    assert "service.replicas: number" in param.contents.value
    assert "default" in param.contents.value
    secret = await hover("secret.db_password }", 9)
    assert secret is not None
    assert "db_password" in secret.contents.value


async def test_definition_goes_into_the_stdlib(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=main.ident(), position=main.position('service "api"', 2))
    )
    location = found if isinstance(found, types.Location) else found[0]
    assert location.uri.endswith("/stdlib/service.stack.hcl"), location
    path = pathlib.Path(location.uri.removeprefix("file://"))
    text = path.read_text()
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), "read-only"
    line = text.splitlines()[location.range.start.line]
    assert 'component "service"' in line, line

    # And to a variable in the same file.
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=main.ident(), position=main.position("var.api_image", 5))
    )
    location = found if isinstance(found, types.Location) else found[0]
    assert location.uri == main.uri
    assert location.range.start.line == main.position('variable "api_image"').line


async def test_completion_offers_a_services_params_required_first(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)
    main.edit('service "api" {\n', 'service "api" {\n  \n')
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=main.ident(), position=main.position('service "api" {\n  \n', 18))
    )
    items = result.items if hasattr(result, "items") else result
    items = sorted(items, key=lambda i: i.sort_text or i.label)
    labels = [i.label for i in items]
    assert {"image", "replicas", "port", "env"} <= set(labels), labels
    assert items[0].label == "image" and "(required)" in items[0].detail, items[0]
    assert "number" in next(i.detail for i in items if i.label == "replicas")

    # After `var.`: the variables.
    main.edit("port        = 8080", "port        = var.")
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=main.ident(), position=main.position("= var.\n", 6))
    )
    items = result.items if hasattr(result, "items") else result
    assert {"api_replicas", "http_port"} <= {i.label for i in items}


async def test_rename_a_variable_across_files(client: LanguageClient, shop):
    (shop / "extra.stack.hcl").write_text('output "replicas" {\n  value = var.api_replicas\n}\n')
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=main.ident(), position=main.position('variable "api_replicas"', 11), new_name="api_count"
        )
    )
    changes = edit.changes
    assert set(changes) == {main.uri, uri(shop / "extra.stack.hcl")}, changes
    assert len(changes[main.uri]) == 3  # the declaration, the validation, the service
    assert all(e.new_text == "api_count" for edits in changes.values() for e in edits)

    # An instance, from a reference to it: its label and every `service.api`.
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=main.ident(), position=main.position("to   = service.api", 15), new_name="web")
    )
    edits = edit.changes[main.uri]
    assert sorted(e.range.start.line for e in edits) == sorted(
        [main.position('service "api"').line, main.position("to   = service.api").line]
    ), edits
    replaced = [main.text.splitlines()[e.range.start.line][e.range.start.character : e.range.end.character] for e in edits]
    assert replaced == ["api", "api"], replaced

    # A param cannot be renamed: a clear error.
    with pytest.raises(Exception, match="cannot be renamed"):
        await client.text_document_rename_async(
            types.RenameParams(text_document=main.ident(), position=main.position("replicas    = var", 1), new_name="x")
        )


async def test_document_symbols_and_files_outside_a_stack(client: LanguageClient, shop, tmp_path):
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=main.ident())
    )
    names = [s.name for s in symbols]
    assert "api_replicas" in names and "api" in names and "public" in names, names

    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri(other)), position=types.Position(line=0, character=1))
    )
    assert hover is None


async def test_garbage_and_odd_positions_do_not_stop_the_server(client: LanguageClient, shop):
    broken = Doc(client, shop / "main.stack.hcl")
    broken.edit(broken.text, "service \"x\" {\n" + "[" * 5000 + "\u00e9\U0001f980 = ${{%{\n" + "}" * 300)
    found = await diagnostics_for(client, broken)
    assert found and all(d.code for d in found), found
    far = types.Position(line=10**6, character=10**6)
    assert await client.text_document_hover_async(types.HoverParams(text_document=broken.ident(), position=far)) is None
    for position in [far, types.Position(line=0, character=3), types.Position(line=1, character=4999)]:
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=broken.ident(), position=position)
        )
        assert result is not None
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=broken.ident()))
    # Still serving: the other file of the stack answers.
    targets = Doc(client, shop / "targets.stack.hcl")
    await diagnostics_for(client, targets)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=targets.ident(), position=targets.position('target "aws"', 9))
    )
    assert "region" in hover.contents.value


async def test_completion_of_targets_block_kinds_and_resource_attributes(client: LanguageClient, shop):
    extra = shop / "extra.stack.hcl"
    extra.write_text('on "aws" {\n  resource "aws_s3_bucket" "b" {\n    \n  }\n}\n\non "\n')
    doc = Doc(client, extra)
    await diagnostics_for(client, doc)

    async def labels(needle, delta):
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=doc.ident(), position=doc.position(needle, delta))
        )
        return [i.label for i in (result.items if hasattr(result, "items") else result)]

    assert {"aws", "kubernetes", "local"} <= set(await labels('\non "\n', 5))
    attributes = await labels('"b" {\n    \n', 10)
    assert "bucket" in attributes and "arn" not in attributes, attributes  # computed ones are not settable
    top = await labels('}\n\non "', 3)
    assert {"variable", "locals", "service", "database", "backend", "reconcile"} <= set(top), top


async def test_formatting_replaces_the_buffer_with_what_stackc_fmt_makes(client: LanguageClient, shop):
    main = Doc(client, shop / "main.stack.hcl")
    await diagnostics_for(client, main)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    # Already formatted (the examples are): no edit.
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=main.ident(), options=options)
    )
    assert not edits, edits

    # Misindented and unaligned: one edit of the whole buffer, equal to what
    # `stackc fmt -` prints for the same text.
    messy = main.text.replace("\n  ", "\n      ", 3)
    main.edit(main.text, messy)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=main.ident(), options=options)
    )
    assert len(edits) == 1, edits
    expected = subprocess.run([BIN, "fmt", "-"], input=messy, capture_output=True, text=True, check=True).stdout
    assert edits[0].new_text == expected
    assert edits[0].range.start == types.Position(line=0, character=0)
    assert edits[0].range.end.line == messy.count("\n")

    # A buffer that does not parse: no edit (its diagnostics say why).
    main.edit(main.text, main.text + "\nservice \"broken\" {\n")
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=main.ident(), options=options)
    )
    assert not edits, edits
