#!/usr/bin/python3
"""spec/jupyter_check.py — drives the luatorch Jupyter kernel through jupyter_client (Debian
python3-jupyter-client), for spec/56-jupyter_spec.lua.

  jupyter_check.py protocol    execute, streams, errors, rich output, complete, inspect,
                               is_complete, interrupt, restart, shutdown
  jupyter_check.py notebook NB executes the notebook with nbclient and checks its outputs

The kernelspec is found through JUPYTER_PATH (the spec points it at the build tree's
$BUILD/share/jupyter). Prints one line per check: 'ok NAME' or 'FAIL NAME: why'; the spec
asserts each. Exit status 0 when the kernel could be driven at all.
"""
import base64
import json
import sys
import time

results = []


def check(name, cond, why=''):
    results.append((name, bool(cond), why))
    print(('ok %s' if cond else 'FAIL %s: ' + str(why).replace('\n', '\\n')[:400]) % name, flush=True)


def run(kc, code, timeout=60):
    """Executes code; returns (reply content, [(msg_type, content, arrival time)]).
    stop_on_error=False: after an error reply xeus aborts the requests queued behind it (as
    ipykernel does), which would race with the next check's request."""
    msg_id = kc.execute(code, stop_on_error=False)
    msgs = []
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m['parent_header'].get('msg_id') != msg_id:
            continue
        t = m['msg_type']
        if t == 'status' and m['content']['execution_state'] == 'idle':
            break
        if t not in ('status', 'execute_input'):
            msgs.append((t, m['content'], time.monotonic()))
    while True:
        r = kc.get_shell_msg(timeout=timeout)
        if r['parent_header'].get('msg_id') == msg_id:
            return r['content'], msgs


def of(msgs, kind):
    return [c for t, c, _ in msgs if t == kind]


def stdout(msgs):
    return ''.join(c['text'] for t, c, _ in msgs if t == 'stream' and c['name'] == 'stdout')


def result_text(msgs):
    r = of(msgs, 'execute_result')
    return r[0]['data'].get('text/plain') if r else None


def protocol():
    from jupyter_client.manager import KernelManager
    km = KernelManager(kernel_name='luatorch')
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        info = kc.kernel_info(reply=True, timeout=30)['content']
        # the first messages on iopub can be lost while its subscription connects: wait for one
        for _ in range(20):
            try:
                run(kc, 'nil', timeout=3)
                break
            except Exception:
                pass
        check('kernel_info', info['language_info']['name'] == 'lua' and info['implementation'] == 'luatorch',
              info)

        # execute: the last expression's value, as the prompt shows it; ';' keeps quiet
        rep, msgs = run(kc, 'x = torch.ones(2, 3)\nx:sum()')
        check('execute_result', rep['status'] == 'ok' and result_text(msgs) == '6.0', (rep, msgs))
        rep, msgs = run(kc, 'local a = 40\na + 2')
        check('execute_locals_then_expression', result_text(msgs) == '42', msgs)
        rep, msgs = run(kc, 'x:size(2);')
        check('execute_quiet', rep['status'] == 'ok' and not of(msgs, 'execute_result'), msgs)
        rep, msgs = run(kc, 'x')
        check('execute_tensor', 'torch.FloatTensor of size 2x3' in (result_text(msgs) or ''), msgs)
        check('execution_count', isinstance(rep.get('execution_count'), int) and rep['execution_count'] >= 4, rep)

        # streams: as they happen (the second line a second after the first), in order
        rep, msgs = run(kc, 'print("first")\nlocal t0 = os.clock()\nwhile os.clock() - t0 < 1 do end\n'
                            'io.write("second", 2, "\\n")\nio.stdout:write("third\\n")\n'
                            'io.stderr:write("to stderr\\n")')
        streams = [(c['name'], c['text'], at) for t, c, at in msgs if t == 'stream']
        texts = ''.join(s[1] for s in streams if s[0] == 'stdout')
        check('stream_order', texts == 'first\nsecond2\nthird\n', streams)
        check('stream_stderr', any(s[0] == 'stderr' and s[1] == 'to stderr\n' for s in streams), streams)
        first = [s[2] for s in streams if s[1] == 'first\n']
        second = [s[2] for s in streams if s[1].startswith('second')]
        check('stream_live', first and second and second[0] - first[0] > 0.5,
              'first and second arrived %s s apart' % (second[0] - first[0] if first and second else None))

        # bytes that are not UTF-8 become U+FFFD, the kernel carries on
        rep, msgs = run(kc, 'print("\\255ok")')
        check('stream_not_utf8', rep['status'] == 'ok' and stdout(msgs) == '\ufffdok\n', msgs)

        rep, msgs = run(kc, 'io.read()')
        check('no_stdin', rep['status'] == 'error' and 'no standard input' in rep['evalue'], rep)

        # errors: ename, evalue, the Lua traceback
        rep, msgs = run(kc, 'local function inner() error("deep trouble") end\n'
                            'local function outer() inner() end\nouter()')
        err = of(msgs, 'error')
        check('error_reply', rep['status'] == 'error' and rep['ename'] == 'LuaError'
              and 'deep trouble' in rep['evalue'], rep)
        check('error_traceback', err and any("'inner'" in l for l in err[0]['traceback'])
              and any(l.strip().startswith('cell:2: in') for l in err[0]['traceback'])
              and err[0]['traceback'][0] == 'cell:1: deep trouble', err)
        rep, msgs = run(kc, 'x = = 1')
        check('error_syntax', rep['status'] == 'error' and rep['ename'] == 'SyntaxError', rep)
        rep, msgs = run(kc, 'x:sum()')
        check('state_after_error', result_text(msgs) == '6.0', msgs)

        # rich output
        rep, msgs = run(kc, 'display("<b>bold</b>", "html")\ndisplay("# title", "markdown")\n'
                            'display("<svg xmlns=\'http://www.w3.org/2000/svg\'/>", "svg")')
        kinds = [list(c['data'].keys()) for c in of(msgs, 'display_data')]
        check('display_html_markdown_svg', len(kinds) == 3 and 'text/html' in kinds[0]
              and 'text/markdown' in kinds[1] and 'image/svg+xml' in kinds[2], kinds)
        png = b'\x89PNG\r\n\x1a\n' + bytes(range(256))
        lua_bytes = ''.join('\\%d' % b for b in png)
        rep, msgs = run(kc, 'display("%s", "png")' % lua_bytes)
        d = of(msgs, 'display_data')
        check('display_png_base64', d and base64.b64decode(d[0]['data']['image/png']) == png, d)
        rep, msgs = run(kc, 'torch.plot({3, 1, 2}, {title = "t"})')
        r = of(msgs, 'execute_result')
        check('plot_inline_svg', r and '<svg' in r[0]['data'].get('image/svg+xml', ''), rep)
        rep, msgs = run(kc, 'local b = torch.ProgressBar(3)\nfor i = 1, 3 do b:update(i)\n'
                            'local t0 = os.clock() while os.clock() - t0 < 0.06 do end end\nb:finish()')
        disp, upd = of(msgs, 'display_data'), of(msgs, 'update_display_data')
        ids = {c['transient'].get('display_id') for c in disp + upd}
        check('progress_in_place', len(disp) == 1 and len(upd) >= 1 and len(ids) == 1
              and '3/3' in upd[-1]['data']['text/plain'], (disp, upd))

        # complete (Tab), inspect (Shift-Tab), is_complete
        kc.complete('local y = nn.Line', 17)
        c = kc.get_shell_msg(timeout=30)['content']
        check('complete_field', 'nn.Linear' in c['matches'] and c['cursor_start'] == 10 and c['cursor_end'] == 17, c)
        kc.complete('s = "é" .. pri', 14)   # cursor positions count characters, not bytes
        c = kc.get_shell_msg(timeout=30)['content']
        check('complete_utf8', 'print' in c['matches'] and c['cursor_start'] == 11, c)
        kc.complete('x:ad', 4)
        c = kc.get_shell_msg(timeout=30)['content']
        check('complete_method', 'x:add' in c['matches'], c)
        kc.inspect('nn.Linear(10, ', 14)
        c = kc.get_shell_msg(timeout=30)['content']
        check('inspect_help', c['found'] and 'nn.Linear(inputSize, outputSize' in c['data']['text/plain'], c)
        kc.inspect('torch.mm', 8)
        c = kc.get_shell_msg(timeout=30)['content']
        check('inspect_name', c['found'] and 'torch.mm' in c['data']['text/plain'], c)
        kc.inspect('notAName', 3)
        c = kc.get_shell_msg(timeout=30)['content']
        check('inspect_unknown', not c['found'], c)
        states = []
        for code in ('for i = 1, 3 do', 'x = 1', 'x = )', 'f(1,'):
            kc.is_complete(code)
            states.append(kc.get_shell_msg(timeout=30)['content']['status'])
        check('is_complete', states == ['incomplete', 'complete', 'invalid', 'incomplete'], states)

        # interrupt: a training-like loop streaming lines, stopped; the state survives
        msg_id = kc.execute('n = 0\nfor step = 1, 1e12 do\n  n = step\n'
                            '  if step % 200000 == 0 then print("step", step) end\nend', stop_on_error=False)
        t0 = time.monotonic()
        while True:
            m = kc.get_iopub_msg(timeout=60)
            if m['parent_header'].get('msg_id') == msg_id and m['msg_type'] == 'stream':
                break
        km.interrupt_kernel()
        reply = None
        while reply is None:
            r = kc.get_shell_msg(timeout=30)
            if r['parent_header'].get('msg_id') == msg_id:
                reply = r['content']
        check('interrupt', reply['status'] == 'error' and reply['ename'] == 'Interrupted'
              and time.monotonic() - t0 < 30, reply)
        rep, msgs = run(kc, 'n > 0 and x:sum()')
        check('interrupt_state_survives', result_text(msgs) == '6.0', msgs)
        check('interrupt_kernel_alive', km.is_alive(), 'kernel died')

        # restart: a fresh state, the kernel answering
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=60)
        rep, msgs = run(kc, 'x == nil and torch.ones(1):sum()')
        check('restart', result_text(msgs) == '1.0', msgs)
    finally:
        kc.stop_channels()
        # shutdown: the kernel answers the request and exits
        proc = km.provisioner.process if getattr(km, 'provisioner', None) else None
        km.shutdown_kernel(now=False)
        code = proc.poll() if proc else None
        check('shutdown', not km.is_alive() and (proc is None or code is not None), code)


def notebook(path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    import os
    NotebookClient(nb, timeout=600, kernel_name='luatorch',
                   resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}}).execute()
    texts, images, errors = [], [], []
    for cell in nb.cells:
        for o in cell.get('outputs', []):
            if o.output_type == 'stream':
                texts.append(o.text)
            elif o.output_type in ('execute_result', 'display_data'):
                texts.append(o.data.get('text/plain', ''))
                images += [k for k in o.data if k.startswith('image/')]
            elif o.output_type == 'error':
                errors.append(o.ename + ': ' + o.evalue)
    text = ''.join(texts)
    check('notebook_no_errors', not errors, errors)
    import re
    accs = [float(a) for a in re.findall(r'Iteration: \d+\. Loss: [\d.]+\. Accuracy: ([\d.]+)', text)]
    check('notebook_accuracy_printed', len(accs) >= 1 and all(0 <= a <= 100 for a in accs), text[-800:])
    check('notebook_dataset_sizes', '7996\t2004' in text, text[:400])
    check('notebook_figure', 'image/svg+xml' in images or 'image/png' in images, images)
    check('notebook_progress', re.search(r'\[=+\] (\d+)/\1 ', text) is not None, text[-800:])


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'protocol':
        protocol()
    elif len(sys.argv) >= 3 and sys.argv[1] == 'notebook':
        notebook(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
