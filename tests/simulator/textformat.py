"""Moodle text formats: what format_text() makes of a stored description.

Formats: 0 moodle (auto-format), 1 html, 2 plain, 4 markdown. Outside raw mode the web
service returns HTML and reports format 1; an empty text comes back unchanged.
"""

from __future__ import annotations

import re

FORMAT_MOODLE = 0
FORMAT_HTML = 1
FORMAT_PLAIN = 2
FORMAT_MARKDOWN = 4
KNOWN_FORMATS = (FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN)

_DANGEROUS_BLOCK = re.compile(r'<(script|style|iframe|object|embed)\b[^>]*>.*?</\1\s*>', re.I | re.S)
_DANGEROUS_TAG = re.compile(r'</?(script|style|iframe|object|embed|frame|frameset|meta|link)\b[^>]*>', re.I)
_EVENT_ATTR = re.compile(r'''\s+on[a-z]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)''', re.I)
_JS_URL = re.compile(r'''(href|src)\s*=\s*(["']?)\s*javascript:[^"'\s>]*\2''', re.I)
_NUMERIC_ENTITY = re.compile(r'&amp;#(\d+|x[0-9a-f]+);', re.I)


def s(text):
    """Moodle s(): htmlspecialchars with ENT_QUOTES, numeric entities kept."""
    text = (text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;').replace("'", '&#039;'))
    return _NUMERIC_ENTITY.sub(r'&#\1;', text)


def nl2br(text):
    """PHP nl2br(): ``<br />`` before every line break, the break kept."""
    return re.sub(r'(\r\n|\n\r|\n|\r)', r'<br />\1', text)


def clean_html(text):
    """A small stand-in for HTML Purifier: drop scripts, event handlers and javascript: URLs."""
    text = _DANGEROUS_BLOCK.sub('', text)
    text = _DANGEROUS_TAG.sub('', text)
    text = _EVENT_ATTR.sub('', text)
    return _JS_URL.sub(r'\1=\2#\2', text)


def text_to_html(text):
    """Moodle text_to_html() with paragraph wrapping and new lines."""
    text = re.sub(r'>([ \t\n\r\x0b\x0c]+)<', '><', text)
    text = re.sub(r'([\n\r])<', ' <', text)
    text = re.sub(r'>([\n\r])', '> ', text)
    return '<div class="text_to_html">' + nl2br(text) + '</div>'


def _inline_markdown(text):
    code_spans = []

    def keep_code(match):
        code_spans.append('<code>' + s(match.group(1)) + '</code>')
        return '\x00%d\x00' % (len(code_spans) - 1)

    text = re.sub(r'`([^`]+)`', keep_code, text)
    text = re.sub(r'!\[([^\]]*)\]\(([^)\s]+)\)', r'<img src="\2" alt="\1" />', text)
    text = re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)', r'<a href="\2">\1</a>', text)
    text = re.sub(r'<(https?://[^>\s]+)>', r'<a href="\1">\1</a>', text)
    text = re.sub(r'(\*\*|__)(?=\S)(.+?)(?<=\S)\1', r'<strong>\2</strong>', text)
    text = re.sub(r'(\*|_)(?=\S)(.+?)(?<=\S)\1', r'<em>\2</em>', text)
    text = re.sub(r' {2,}\n', '<br />\n', text)
    text = re.sub(r'&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)', '&amp;', text)
    return re.sub('\x00(\\d+)\x00', lambda match: code_spans[int(match.group(1))], text)


def markdown_to_html(text):
    """A compact Markdown: headers, lists, quotes, code blocks, paragraphs and inline markup."""
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    blocks = re.split(r'\n[ \t]*\n+', text.strip('\n'))
    html = []
    for block in blocks:
        if not block.strip():
            continue
        lines = block.split('\n')
        if block.startswith('```') and block.rstrip().endswith('```') and len(lines) >= 2:
            code = '\n'.join(lines[1:-1])
            html.append('<pre><code>%s\n</code></pre>' % s(code))
        elif all(line.startswith(('    ', '\t')) for line in lines):
            code = '\n'.join(line[4:] if line.startswith('    ') else line[1:] for line in lines)
            html.append('<pre><code>%s\n</code></pre>' % s(code))
        elif re.match(r'#{1,6}\s', block) and len(lines) == 1:
            level = len(block) - len(block.lstrip('#'))
            html.append('<h%d>%s</h%d>' % (level, _inline_markdown(block[level:].strip().rstrip('#').strip()), level))
        elif all(re.match(r'\s*[-*+]\s+', line) for line in lines):
            items = ['<li>%s</li>' % _inline_markdown(re.sub(r'^\s*[-*+]\s+', '', line)) for line in lines]
            html.append('<ul>\n%s\n</ul>' % '\n'.join(items))
        elif all(re.match(r'\s*\d+\.\s+', line) for line in lines):
            items = ['<li>%s</li>' % _inline_markdown(re.sub(r'^\s*\d+\.\s+', '', line)) for line in lines]
            html.append('<ol>\n%s\n</ol>' % '\n'.join(items))
        elif all(line.startswith('>') for line in lines):
            inner = '\n'.join(re.sub(r'^>\s?', '', line) for line in lines)
            html.append('<blockquote>\n  %s\n</blockquote>' % markdown_to_html(inner).strip())
        else:
            html.append('<p>%s</p>' % _inline_markdown(block.strip()))
    return '\n\n'.join(html) + '\n' if html else ''


def format_text(text, textformat, raw=False):
    """``core_external\\util::format_text()``: ``(text, format)`` as the web service answers them."""
    if text is None or text == '':
        return '', textformat
    if raw:
        return text, textformat
    if textformat == FORMAT_HTML:
        text = clean_html(text)
    elif textformat == FORMAT_PLAIN:
        text = nl2br(s(text).replace('  ', '&nbsp; '))
    elif textformat == FORMAT_MARKDOWN:
        text = clean_html(markdown_to_html(text))
    else:
        text = clean_html(text_to_html(text))
    return text, FORMAT_HTML
