/*
 * kernel.cpp — luatorch-kernel, the Jupyter kernel of luatorch (kernelspec name "luatorch").
 *
 *   luatorch-kernel -f connection.json     (Jupyter starts it from kernel.json's argv)
 *
 * Three layers: xeus (Debian xeus-dev) speaks the Jupyter protocol (ZeroMQ sockets, HMAC
 * signatures, JSON messages, heartbeat, the control channel); this file is an xeus
 * interpreter that owns one Lua state (the executable's: the toolkit's embedded modules,
 * lua/lt_exe.c) and turns each request into a call of lua/torch/jupyter.lua, which does the
 * work with the prompt's machinery (lua/torch/repl.lua: compile, results, completion, help).
 * Lua calls back through the table `k` handed to jupyter.start: k.publish (stream output),
 * k.display (display_data / update_display_data), k.clear_output, k.base64, k.eval (a
 * protected call that SIGINT interrupts, lua/lt_exe.c).
 *
 * Interrupts: kernel.json asks for interrupt_mode "signal". SIGINT is ignored while idle and
 * blocked in every thread but the one running cells (xeus' and ZeroMQ's threads inherit the
 * mask), so a signal during a cell reaches the Lua hook of lt_exe_eval and nothing else.
 *
 * Lua errors are longjmps: the C functions Lua calls read their arguments before any C++
 * object with a destructor exists, and no C++ exception leaves them.
 */
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <pthread.h>

#include <openssl/evp.h>

#include <lua.hpp>

#include "nlohmann/json.hpp"
#include "xeus/xeus_context.hpp"
#include "xeus/xhelper.hpp"
#include "xeus/xinterpreter.hpp"
#include "xeus/xkernel.hpp"
#include "xeus/xkernel_configuration.hpp"
#include "xeus/xserver_zmq.hpp"

#include <zmq.hpp>

#include "../include/luatorch.h"
#include "../lua/lt_exe.h"

namespace nl = nlohmann;

namespace {

xeus::xinterpreter *g_interp = nullptr;  // the one interpreter; Lua's callbacks publish through it

// A Lua value as JSON: strings, numbers, booleans; a table with a [1] (or empty and marked by
// nothing) as an array, otherwise an object of its string keys. Depth-bounded (cycles).
nl::json to_json(lua_State *L, int idx, int depth = 0)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return std::string(s, n);
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return (long long)lua_tointeger(L, idx);
        return lua_tonumber(L, idx);
    case LUA_TBOOLEAN:
        return (bool)lua_toboolean(L, idx);
    case LUA_TTABLE: {
        if (depth > 32 || !lua_checkstack(L, 4)) return nullptr;
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n > 0) {
            nl::json a = nl::json::array();
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                a.push_back(to_json(L, -1, depth + 1));
                lua_pop(L, 1);
            }
            return a;
        }
        nl::json o = nl::json::object();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) == LUA_TSTRING) o[lua_tostring(L, -2)] = to_json(L, -1, depth + 1);
            lua_pop(L, 1);
        }
        return o;
    }
    default:
        return nullptr;
    }
}

// ---- the callbacks Lua gets (the table k) ----------------------------------------------------

// k.publish(name, text): a stream message ('stdout' or 'stderr')
int k_publish(lua_State *L)
{
    size_t nn, nt;
    const char *name = luaL_checklstring(L, 1, &nn);
    const char *text = luaL_checklstring(L, 2, &nt);
    bool ok = true;
    try {
        g_interp->publish_stream(std::string(name, nn), std::string(text, nt));
    } catch (...) {
        ok = false;
    }
    if (!ok) return luaL_error(L, "jupyter: could not publish the stream message");
    return 0;
}

// k.display(bundle, metadata, display_id | nil, update): display_data, or update_display_data
// of an earlier display with that id
int k_display(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *id = luaL_optstring(L, 3, nullptr);
    int update = lua_toboolean(L, 4);
    if (update && !id) return luaL_argerror(L, 3, "update_display_data needs a display id");
    bool ok = true;
    try {
        nl::json data = to_json(L, 1);
        nl::json meta = lua_istable(L, 2) ? to_json(L, 2) : nl::json::object();
        if (!meta.is_object()) meta = nl::json::object();
        nl::json transient = nl::json::object();
        if (id) transient["display_id"] = id;
        if (update) g_interp->update_display_data(data, meta, transient);
        else g_interp->display_data(data, meta, transient);
    } catch (...) {
        ok = false;
    }
    if (!ok) return luaL_error(L, "jupyter: could not publish the display message");
    return 0;
}

// k.clear_output(wait)
int k_clear_output(lua_State *L)
{
    bool wait = lua_toboolean(L, 1);
    bool ok = true;
    try {
        g_interp->clear_output(wait);
    } catch (...) {
        ok = false;
    }
    if (!ok) return luaL_error(L, "jupyter: could not clear the output");
    return 0;
}

// k.base64(bytes) -> text (OpenSSL's encoder: image/png travels base64-encoded in JSON)
int k_base64(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (n > (size_t)1 << 30) return luaL_argerror(L, 1, "over 1 GiB");
    luaL_Buffer b;
    size_t out = 4 * ((n + 2) / 3) + 1;
    unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, out);
    size_t done = 0;
    while (done < n) {  // EVP_EncodeBlock takes an int length: in chunks of a multiple of 3
        size_t chunk = n - done < (size_t)3 << 20 ? n - done : (size_t)3 << 20;
        int w = EVP_EncodeBlock(p, (const unsigned char *)s + done, (int)chunk);
        p += w;
        done += chunk;
        luaL_addsize(&b, (size_t)w);
    }
    luaL_pushresult(&b);
    return 1;
}

void block_sigint(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
}

// ---- the interpreter ---------------------------------------------------------------------------

class lua_interpreter : public xeus::xinterpreter {
public:
    explicit lua_interpreter(lua_State *L) : L_(L) { xeus::register_interpreter(this); }

private:
    lua_State *L_;
    int module_ = LUA_NOREF;  // registry reference of torch.jupyter's table

    // Pushes jupyter.<name>; false (nothing pushed) when the front did not load.
    bool push_function(const char *name)
    {
        if (module_ == LUA_NOREF) return false;
        lua_rawgeti(L_, LUA_REGISTRYINDEX, module_);
        lua_getfield(L_, -1, name);
        lua_remove(L_, -2);
        return true;
    }

    // Calls the pushed function with nargs arguments; its first result as JSON, or an object
    // {status = 'error', ...} for an error in the front itself (a bug, not the user's code).
    nl::json call(int nargs)
    {
        int base = lua_gettop(L_) - nargs;
        lua_pushcfunction(L_, lt_exe_msghandler);
        lua_insert(L_, base);
        int status = lua_pcall(L_, nargs, 1, base);
        nl::json r;
        if (status == LUA_OK) {
            r = to_json(L_, -1);
        } else {
            const char *msg = lua_tostring(L_, -1);
            r = {{"status", "error"}, {"ename", "KernelError"},
                 {"evalue", msg ? msg : "(no message)"}, {"traceback", nl::json::array()}};
        }
        lua_settop(L_, base - 1);
        return r;
    }

    void configure_impl() override
    {
        lua_getglobal(L_, "require");
        lua_pushstring(L_, "torch.jupyter");
        if (lt_exe_docall(1)) {
            module_ = luaL_ref(L_, LUA_REGISTRYINDEX);
        } else {
            std::cerr << "luatorch-kernel: " << lua_tostring(L_, -1) << std::endl;
            lua_pop(L_, 1);
            return;
        }
        push_function("start");
        static const luaL_Reg fns[] = {{"publish", k_publish},
                                       {"display", k_display},
                                       {"clear_output", k_clear_output},
                                       {"base64", k_base64},
                                       {"eval", lt_exe_eval},
                                       {nullptr, nullptr}};
        luaL_newlib(L_, fns);
        lua_pushstring(L_, LUATORCH_VERSION_STRING);
        lua_setfield(L_, -2, "version");
        nl::json r = call(1);
        if (r.is_object() && r.value("status", "") == "error")
            std::cerr << "luatorch-kernel: " << r.value("evalue", "") << std::endl;
    }

    bool lt_exe_docall(int nargs)
    {
        int base = lua_gettop(L_) - nargs;
        lua_pushcfunction(L_, lt_exe_msghandler);
        lua_insert(L_, base);
        int status = lua_pcall(L_, nargs, 1, base);
        lua_remove(L_, base);
        return status == LUA_OK;
    }

    nl::json execute_request_impl(int execution_counter, const std::string &code, bool silent,
                                  bool /*store_history*/, nl::json /*user_expressions*/,
                                  bool /*allow_stdin*/) override
    {
        if (!push_function("execute"))
            return nl::json{{"status", "error"}, {"ename", "KernelError"},
                            {"evalue", "torch.jupyter did not load"}, {"traceback", nl::json::array()}};
        lua_pushlstring(L_, code.data(), code.size());
        lua_pushboolean(L_, silent);
        block_sigint(false);  // this thread takes the interrupts while the cell runs
        nl::json r = call(2);
        block_sigint(true);
        if (r.value("status", "") == "ok") {
            if (!silent && r.contains("data") && r["data"].is_object())
                publish_execution_result(execution_counter, r["data"],
                                         r.contains("metadata") && r["metadata"].is_object()
                                             ? r["metadata"] : nl::json::object());
            return xeus::create_successful_reply();
        }
        std::string ename = r.value("ename", "Error"), evalue = r.value("evalue", "");
        nl::json tb = r.contains("traceback") && r["traceback"].is_array() ? r["traceback"]
                                                                             : nl::json::array();
        std::vector<std::string> lines;
        for (auto &l : tb) lines.push_back(l.is_string() ? l.get<std::string>() : l.dump());
        if (!silent) publish_execution_error(ename, evalue, lines);
        // (xeus 2.4's create_error_reply swaps ename and evalue)
        return nl::json{{"status", "error"}, {"ename", ename}, {"evalue", evalue}, {"traceback", tb}};
    }

    nl::json complete_request_impl(const std::string &code, int cursor_pos) override
    {
        if (!push_function("complete")) return xeus::create_complete_reply({}, cursor_pos, cursor_pos);
        lua_pushlstring(L_, code.data(), code.size());
        lua_pushinteger(L_, cursor_pos);
        nl::json r = call(2);
        nl::json matches = r.contains("matches") && r["matches"].is_array() ? r["matches"]
                                                                             : nl::json::array();
        int start = r.value("cursor_start", cursor_pos), end = r.value("cursor_end", cursor_pos);
        return xeus::create_complete_reply(matches, start, end);
    }

    nl::json inspect_request_impl(const std::string &code, int cursor_pos, int detail_level) override
    {
        if (!push_function("inspect")) return xeus::create_inspect_reply();
        lua_pushlstring(L_, code.data(), code.size());
        lua_pushinteger(L_, cursor_pos);
        lua_pushinteger(L_, detail_level);
        nl::json r = call(3);
        if (!r.value("found", false) || !r.contains("data")) return xeus::create_inspect_reply();
        return xeus::create_inspect_reply(true, r["data"]);
    }

    nl::json is_complete_request_impl(const std::string &code) override
    {
        if (!push_function("is_complete")) return xeus::create_is_complete_reply("unknown");
        lua_pushlstring(L_, code.data(), code.size());
        nl::json r = call(1);
        return xeus::create_is_complete_reply(r.value("status", "unknown"), r.value("indent", ""));
    }

    nl::json kernel_info_request_impl() override
    {
        return xeus::create_info_reply(
            "5.3", "luatorch", LUATORCH_VERSION_STRING, "lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR,
            "text/x-lua", ".lua", "lua", "lua", "",
            "luatorch " LUATORCH_VERSION_STRING " — " LUA_VERSION
            " with torch, nn, optim, datasets, transforms\n"
            "help(f) describes a function, Tab completes, Shift-Tab shows the help;\n"
            "display(x) shows images, HTML and Markdown, torch.plot draws with gnuplot");
    }

    void shutdown_request_impl() override {}
};

}  // namespace

int main(int argc, char *argv[])
{
    std::string file = xeus::extract_filename(argc, argv);
    if (file.empty()) {
        std::cerr << "usage: " << (argv[0] ? argv[0] : "luatorch-kernel")
                  << " -f CONNECTION_FILE\n(Jupyter starts it: `luatorch --install-kernel` "
                     "registers it)\n";
        return 2;
    }
    // Idle: SIGINT ignored; blocked in every thread started from here on (xeus', ZeroMQ's)
    signal(SIGINT, SIG_IGN);
    block_sigint(true);

    lua_State *L = luaL_newstate();
    if (!L) {
        std::cerr << "luatorch-kernel: cannot create a Lua state: not enough memory\n";
        return 1;
    }
    luaL_openlibs(L);
    lt_exe_install_searcher(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "torch");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        std::cerr << "luatorch-kernel: " << lua_tostring(L, -1) << "\n";
        lua_close(L);
        return 1;
    }
    lua_setglobal(L, "torch");
    {
        auto interpreter = std::make_unique<lua_interpreter>(L);
        g_interp = interpreter.get();
        xeus::xconfiguration config = xeus::load_configuration(file);
        auto context = xeus::make_context<zmq::context_t>();
        // replace: a Lua string that is not UTF-8 (bytes printed) becomes U+FFFD, not an exception
        xeus::xkernel kernel(config, xeus::get_user_name(), std::move(context), std::move(interpreter),
                             xeus::make_xserver_zmq, xeus::make_in_memory_history_manager(), nullptr,
                             xeus::make_null_debugger, nl::json::object(),
                             nl::json::error_handler_t::replace);
        kernel.start();
        g_interp = nullptr;
    }
    lua_close(L);
    return 0;
}
