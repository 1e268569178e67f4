/*
 * lpointwise.c — Lua bindings of the elementwise ops (core/pointwise.c) with Torch7's names
 * and [res,] forms, and the arithmetic metamethods of tensors (+ - * / ^ and unary -).
 *
 * Torch7 conventions: a method works in place (x:exp(), x:add(y)), torch.f(x) returns a new
 * tensor, and a leading result tensor (torch.exp(res, x), res:add(a, b)) receives the
 * result. Comparisons and maskedSelect are the exception: a:lt(b) returns a new ByteTensor.
 * Operators always return new tensors; `*` between two tensors is the matrix product.
 *
 * Autograd: a differentiable op that made a fresh result is recorded (lt_rec_*, which does
 * nothing unless an input requires grad); the in-place and [res,] forms are refused before
 * anything is written when an operand requires grad (ltL_checkinplace). Comparisons are
 * never recorded.
 */
#include <math.h>

#include "lt_lua.h"

/* ---- operands ----------------------------------------------------------------------------- */

static int isnum(lua_State *L, int idx) { return lua_type(L, idx) == LUA_TNUMBER; }

/* A 0-dim int64 tensor holding a Lua integer exactly (doubles stop at 2^53), owned by the
 * caller, on device dev (the LongTensor's). Used when an integer meets a LongTensor. */
static lt_tensor *int_scalar(lua_State *L, int idx, int dev)
{
    lt_tensor *s = lt_tensor_uninit_on(dev, LT_INT64, 0, NULL);
    if (!s) return NULL;
    if (dev == LT_CPU) {
        *(int64_t *)s->storage->data = (int64_t)lua_tointeger(L, idx);
    } else if (lt_fill_int(s, (int64_t)lua_tointeger(L, idx))) {
        lt_tensor_release(s);
        return NULL;
    }
    return s;
}

static int exact_int(lua_State *L, const lt_tensor *t, int idx)
{
    return t->dtype == LT_INT64 && lua_isinteger(L, idx);
}

/* res = (arg ia) op (arg ib); each a tensor or a number, at least one a tensor. alpha
 * scales a tensor b (add/sub only). fresh: res is a new tensor, so the op is recorded for
 * autograd; otherwise writing res is refused when recording would be needed. */
static void binop(lua_State *L, const char *name, lt_tensor *res, lt_binary_op op, int ia,
                  int ib, double alpha, int fresh)
{
    lt_tensor *a = ltL_totensor(L, ia), *b = ltL_totensor(L, ib);
    int st;
    if (!a && !b) {
        luaL_typeerror(L, ltL_istensor(L, ia) || isnum(L, ia) ? ib : ia, "tensor");
        return;
    }
    int is = a ? ib : ia;
    if ((!a || !b) && !isnum(L, is)) luaL_typeerror(L, is, "tensor or number");
    if (!fresh) ltL_checkinplace(L, name, res, 2, (const lt_tensor *[]){a, b});
    if (a && b) {
        st = lt_binary(res, op, a, b, alpha);
        if (st == LT_OK && fresh) st = lt_rec_binary(res, op, a, b, alpha);
    } else if (exact_int(L, a ? a : b, is)) {
        lt_tensor *s = int_scalar(L, is, lt_device(a ? a : b));
        lt_tensor *x = a ? a : s, *y = a ? s : b;
        st = !s ? LT_ERR : lt_binary(res, op, x, y, 1.0);
        if (st == LT_OK && fresh) st = lt_rec_binary(res, op, x, y, 1.0);
        lt_tensor_release(s);
    } else {
        double v = ltL_scalar_operand(lua_tonumber(L, is));
        if (a) {
            st = lt_binary_scalar(res, op, a, v);
            if (st == LT_OK && fresh) st = lt_rec_binary_scalar(res, op, a, v);
        } else {
            st = lt_scalar_binary(res, op, v, b);
            if (st == LT_OK && fresh) st = lt_rec_scalar_binary(res, op, v, b);
        }
    }
    if (st != LT_OK) ltL_error(L, name);
}

/* The dtype of a new result: that of the first tensor among args 1..n. */
static lt_dtype first_dtype(lua_State *L, int n)
{
    for (int i = 1; i <= n; i++) {
        lt_tensor *t = ltL_totensor(L, i);
        if (t) return t->dtype;
    }
    return ltL_checktensor(L, 1)->dtype;  /* raises: no tensor given */
}

/* ---- unary -------------------------------------------------------------------------------- */

/* [res,] x: torch.f(x) new, x:f() in place, torch.f(res, x) / res:f(x) into res */
static int unary(lua_State *L, lt_unary_op op, const char *name)
{
    int resform = ltL_leadingtensors(L, 1);
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 1));
    int fresh = ltL_fresh(L, resform);
    lt_tensor *x = ltL_checktensor(L, 2);
    if (!fresh) ltL_checkinplace(L, name, res, 1, (const lt_tensor *[]){x});
    LT_TRY(L, name, lt_unary(res, op, x));
    if (fresh) LT_TRY(L, name, lt_rec_unary(res, op, x));
    lua_settop(L, 1);
    return 1;
}

#define UNARY_FN(fn, op, name) \
    static int fn(lua_State *L) { return unary(L, op, name); }
UNARY_FN(pw_neg, LT_OP_NEG, "neg")
UNARY_FN(pw_abs, LT_OP_ABS, "abs")
UNARY_FN(pw_sign, LT_OP_SIGN, "sign")
UNARY_FN(pw_exp, LT_OP_EXP, "exp")
UNARY_FN(pw_log, LT_OP_LOG, "log")
UNARY_FN(pw_log1p, LT_OP_LOG1P, "log1p")
UNARY_FN(pw_sqrt, LT_OP_SQRT, "sqrt")
UNARY_FN(pw_rsqrt, LT_OP_RSQRT, "rsqrt")
UNARY_FN(pw_sigmoid, LT_OP_SIGMOID, "sigmoid")
UNARY_FN(pw_tanh, LT_OP_TANH, "tanh")
UNARY_FN(pw_relu, LT_OP_RELU, "relu")
UNARY_FN(pw_floor, LT_OP_FLOOR, "floor")
UNARY_FN(pw_ceil, LT_OP_CEIL, "ceil")
UNARY_FN(pw_round, LT_OP_ROUND, "round")
UNARY_FN(pw_trunc, LT_OP_TRUNC, "trunc")
UNARY_FN(pw_frac, LT_OP_FRAC, "frac")
UNARY_FN(pw_sin, LT_OP_SIN, "sin")
UNARY_FN(pw_cos, LT_OP_COS, "cos")
UNARY_FN(pw_square, LT_OP_SQUARE, "square")
UNARY_FN(pw_cinv, LT_OP_RECIPROCAL, "cinv")
UNARY_FN(pw_reciprocal, LT_OP_RECIPROCAL, "reciprocal")
UNARY_FN(pw_tan, LT_OP_TAN, "tan")
UNARY_FN(pw_asin, LT_OP_ASIN, "asin")
UNARY_FN(pw_acos, LT_OP_ACOS, "acos")
UNARY_FN(pw_atan, LT_OP_ATAN, "atan")
UNARY_FN(pw_sinh, LT_OP_SINH, "sinh")
UNARY_FN(pw_cosh, LT_OP_COSH, "cosh")
UNARY_FN(pw_expm1, LT_OP_EXPM1, "expm1")
UNARY_FN(pw_erf, LT_OP_ERF, "erf")
UNARY_FN(pw_erfc, LT_OP_ERFC, "erfc")
UNARY_FN(pw_lgamma, LT_OP_LGAMMA, "lgamma")
UNARY_FN(pw_digamma, LT_OP_DIGAMMA, "digamma")

/* ---- binary ------------------------------------------------------------------------------- */

/* The [res,] form of two-operand ops: args 1 and 2 are tensors and a third follows. */
static int resform2(lua_State *L)
{
    return ltL_istensor(L, 1) && ltL_istensor(L, 2) && lua_gettop(L) >= 3;
}

/* add / csub: [res,] x, value  |  [res,] x, [value,] y   (x + value * y) */
static int addsub(lua_State *L, lt_binary_op op, const char *name)
{
    int resform = resform2(L);
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 2));
    int fresh = ltL_fresh(L, resform);
    lt_tensor *a = ltL_checktensor(L, 2);
    if (lua_gettop(L) >= 4) {
        double v = luaL_checknumber(L, 3);
        lt_tensor *b = ltL_checktensor(L, 4);
        if (!fresh) ltL_checkinplace(L, name, res, 2, (const lt_tensor *[]){a, b});
        LT_TRY(L, name, lt_binary(res, op, a, b, v));
        if (fresh) LT_TRY(L, name, lt_rec_binary(res, op, a, b, v));
    } else {
        binop(L, name, res, op, 2, 3, 1.0, fresh);
    }
    lua_settop(L, 1);
    return 1;
}

static int pw_add(lua_State *L) { return addsub(L, LT_OP_ADD, "add"); }
static int pw_csub(lua_State *L) { return addsub(L, LT_OP_SUB, "csub"); }
static int pw_sub(lua_State *L) { return addsub(L, LT_OP_SUB, "sub"); }

/* [res,] x, y-or-number; pow also takes a number first: torch.pow([res,] s, x) = s ^ x */
static int binary(lua_State *L, lt_binary_op op, const char *name)
{
    int resform = op == LT_OP_POW ? ltL_istensor(L, 1) && lua_gettop(L) >= 3 : resform2(L);
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 2));
    binop(L, name, res, op, 2, 3, 1.0, ltL_fresh(L, resform));
    lua_settop(L, 1);
    return 1;
}

#define BINARY_FN(fn, op, name) \
    static int fn(lua_State *L) { return binary(L, op, name); }
BINARY_FN(pw_mul, LT_OP_MUL, "mul")
BINARY_FN(pw_cmul, LT_OP_MUL, "cmul")
BINARY_FN(pw_div, LT_OP_DIV, "div")
BINARY_FN(pw_cdiv, LT_OP_DIV, "cdiv")
BINARY_FN(pw_pow, LT_OP_POW, "pow")
BINARY_FN(pw_cpow, LT_OP_POW, "cpow")
BINARY_FN(pw_cmax, LT_OP_MAX2, "cmax")
BINARY_FN(pw_cmin, LT_OP_MIN2, "cmin")
BINARY_FN(pw_maximum, LT_OP_MAX2, "maximum")
BINARY_FN(pw_minimum, LT_OP_MIN2, "minimum")
BINARY_FN(pw_fmod, LT_OP_REM, "fmod")
BINARY_FN(pw_remainder, LT_OP_REMAINDER, "remainder")
BINARY_FN(pw_cfmod, LT_OP_REM, "cfmod")                 /* Torch7's tensor-divisor names */
BINARY_FN(pw_cremainder, LT_OP_REMAINDER, "cremainder")
BINARY_FN(pw_atan2, LT_OP_ATAN2, "atan2")

/* ---- comparisons: always a ByteTensor; a:lt(b) is new, res:lt(a, b) writes res ---------- */

static int compare(lua_State *L, lt_cmp_op op, const char *name)
{
    if (!resform2(L)) {
        ltL_checktensor(L, 1);
        ltL_newtensor(L, LT_UINT8);
        lua_insert(L, 1);
    }
    lt_tensor *res = ltL_checktensor(L, 1), *a = ltL_checktensor(L, 2), *b;
    int st;
    if ((b = ltL_totensor(L, 3)) != NULL) {
        st = lt_compare(res, op, a, b);
    } else if (!isnum(L, 3)) {
        return luaL_typeerror(L, 3, "tensor or number");
    } else if (exact_int(L, a, 3)) {
        lt_tensor *s = int_scalar(L, 3, lt_device(a));
        st = s ? lt_compare(res, op, a, s) : LT_ERR;
        lt_tensor_release(s);
    } else {
        st = lt_compare_scalar(res, op, a, ltL_scalar_operand(lua_tonumber(L, 3)));
    }
    if (st != LT_OK) return ltL_error(L, name);
    lua_settop(L, 1);
    return 1;
}

#define CMP_FN(fn, op, name) \
    static int fn(lua_State *L) { return compare(L, op, name); }
CMP_FN(pw_eq, LT_CMP_EQ, "eq")
CMP_FN(pw_ne, LT_CMP_NE, "ne")
CMP_FN(pw_lt, LT_CMP_LT, "lt")
CMP_FN(pw_le, LT_CMP_LE, "le")
CMP_FN(pw_gt, LT_CMP_GT, "gt")
CMP_FN(pw_ge, LT_CMP_GE, "ge")

/* ---- clamp, leakyRelu --------------------------------------------------------------------- */

/* A LongTensor's clamp whose integer bound a double cannot hold (math.maxinteger, ids): the
 * lower bound, then the upper, each an integer through the binary ops (which take it exactly,
 * int_scalar) or a fraction through lt_clamp (which rounds it as for any LongTensor). */
static int clamp_exact(lua_State *L, lt_tensor *res, lt_tensor *a)
{
    const lt_tensor *src = a;
    for (int arg = 3; arg <= 4; arg++) {
        if (lua_isnoneornil(L, arg)) continue;
        int st;
        if (lua_isinteger(L, arg)) {
            lt_tensor *s = int_scalar(L, arg, lt_device(a));
            if (!s) return ltL_error(L, "clamp");
            st = lt_binary(res, arg == 3 ? LT_OP_MAX2 : LT_OP_MIN2, src, s, 1.0);
            lt_tensor_release(s);
        } else {
            double v = lua_tonumber(L, arg);
            st = lt_clamp(res, src, arg == 3 ? v : NAN, arg == 4 ? v : NAN);
        }
        LT_TRY(L, "clamp", st);
        src = res;
    }
    lua_settop(L, 1);
    return 1;
}

/* [res,] x, min, max; nil for a missing bound */
static int pw_clamp(lua_State *L)
{
    int resform = ltL_leadingtensors(L, 1);
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 1));
    lt_tensor *a = ltL_checktensor(L, 2);
    double lo = lua_isnoneornil(L, 3) ? NAN : ltL_scalar_operand(luaL_checknumber(L, 3));
    double hi = lua_isnoneornil(L, 4) ? NAN : ltL_scalar_operand(luaL_checknumber(L, 4));
    int fresh = ltL_fresh(L, resform);
    if (!fresh) ltL_checkinplace(L, "clamp", res, 1, (const lt_tensor *[]){a});
    if (a->dtype == LT_INT64 && (ltL_inexact_int(L, 3) || ltL_inexact_int(L, 4)))
        return clamp_exact(L, res, a);
    LT_TRY(L, "clamp", lt_clamp(res, a, lo, hi));
    if (fresh) LT_TRY(L, "clamp", lt_rec_clamp(res, a, lo, hi));
    lua_settop(L, 1);
    return 1;
}

/* [res,] x [, slope = 0.01] */
static int pw_leakyrelu(lua_State *L)
{
    int resform = ltL_leadingtensors(L, 1);
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 1));
    lt_tensor *a = ltL_checktensor(L, 2);
    double slope = luaL_optnumber(L, 3, 0.01);
    int fresh = ltL_fresh(L, resform);
    if (!fresh) ltL_checkinplace(L, "leakyRelu", res, 1, (const lt_tensor *[]){a});
    LT_TRY(L, "leakyRelu", lt_leaky_relu(res, a, slope));
    if (fresh) LT_TRY(L, "leakyRelu", lt_rec_leaky_relu(res, a, slope));
    lua_settop(L, 1);
    return 1;
}

/* ---- addcmul / addcdiv: [res,] x, [value,] t1, t2 ----------------------------------------- */

static int addc(lua_State *L, int div, const char *name)
{
    int resform = ltL_istensor(L, 1) && ltL_istensor(L, 2) && lua_gettop(L) >= 4;
    lt_tensor *res = ltL_result(L, resform, first_dtype(L, 2));
    lt_tensor *a = ltL_checktensor(L, 2);
    int k = lua_gettop(L) >= 5 ? 4 : 3;
    double v = k == 4 ? luaL_checknumber(L, 3) : 1.0;
    lt_tensor *b = ltL_checktensor(L, k), *c = ltL_checktensor(L, k + 1);
    int fresh = ltL_fresh(L, resform);
    if (!fresh) ltL_checkinplace(L, name, res, 3, (const lt_tensor *[]){a, b, c});
    LT_TRY(L, name, div ? lt_addcdiv(res, a, v, b, c) : lt_addcmul(res, a, v, b, c));
    if (fresh) LT_TRY(L, name, lt_rec_addcmul(res, a, v, b, c, div));
    lua_settop(L, 1);
    return 1;
}

static int pw_addcmul(lua_State *L) { return addc(L, 0, "addcmul"); }
static int pw_addcdiv(lua_State *L) { return addc(L, 1, "addcdiv"); }

/* ---- where and the masked ops ------------------------------------------------------------- */

/* Arg idx as a tensor: a number becomes a pushed 0-dim tensor of dtype dt on device dev. */
static lt_tensor *tensor_or_scalar(lua_State *L, int idx, lt_dtype dt, int dev, const char *name)
{
    lt_tensor *t = ltL_totensor(L, idx);
    if (t) return t;
    if (!isnum(L, idx)) luaL_typeerror(L, idx, "tensor or number");
    double v = lua_tonumber(L, idx);
    t = lt_tensor_uninit_on(dev, dt, 0, NULL);
    ltL_pushtensor(L, t, name);
    if (exact_int(L, t, idx) && dev == LT_CPU)
        *(int64_t *)t->storage->data = (int64_t)lua_tointeger(L, idx);
    else if (exact_int(L, t, idx)) lt_set_int(t, NULL, (int64_t)lua_tointeger(L, idx));
    else lt_set(t, NULL, ltL_scalar_operand(v));
    lua_replace(L, idx);
    return t;
}

/* torch.where([res,] cond, a, b); a and b may be numbers */
static int pw_where(lua_State *L)
{
    int resform = lua_gettop(L) >= 4 && ltL_istensor(L, 1);
    if (!resform) lua_settop(L, 3);
    lt_tensor *ta = ltL_totensor(L, resform + 2), *tb = ltL_totensor(L, resform + 3);
    lt_dtype dt = ta ? ta->dtype : tb ? tb->dtype : ltL_default_dtype();
    if (!resform) {
        ltL_checktensor(L, 1);
        ltL_newtensor(L, dt);
        lua_insert(L, 1);
    }
    lt_tensor *res = ltL_checktensor(L, 1), *cond = ltL_checktensor(L, 2);
    int a_num = !ltL_istensor(L, 3), b_num = !ltL_istensor(L, 4);
    lt_tensor *a = tensor_or_scalar(L, 3, dt, lt_device(cond), "where");
    lt_tensor *b = tensor_or_scalar(L, 4, dt, lt_device(cond), "where");
    if (resform) ltL_checkinplace(L, "where", res, 2, (const lt_tensor *[]){a, b});
    LT_TRY(L, "where", lt_where(res, cond, a, b));
    if (!resform)
        LT_TRY(L, "where", lt_rec_where(res, cond, a_num ? NULL : a, b_num ? NULL : b));
    lua_settop(L, 1);
    return 1;
}

/* x:maskedFill(mask, value), in place */
static int pw_maskedfill(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *mask = ltL_checktensor(L, 2);
    double v = ltL_checkvalue(L, 3, t, "maskedFill");
    ltL_checkinplace(L, "maskedFill", t, 0, NULL);
    LT_TRY(L, "maskedFill", lt_masked_fill(t, mask, v));
    lua_settop(L, 1);
    return 1;
}

/* x:maskedCopy(mask, src), in place: src's elements in order into the masked places */
static int pw_maskedcopy(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *mask = ltL_checktensor(L, 2);
    lt_tensor *src = ltL_checktensor(L, 3);
    ltL_checkinplace(L, "maskedCopy", t, 1, (const lt_tensor *[]){src});
    LT_TRY(L, "maskedCopy", lt_masked_copy(t, mask, src));
    lua_settop(L, 1);
    return 1;
}

/* [res,] x, mask -> 1-D; x:maskedSelect(mask) is new, not in place */
static int pw_maskedselect(lua_State *L)
{
    int fresh = !ltL_leadingtensors(L, 2);
    if (fresh) {
        lt_tensor *x = ltL_checktensor(L, 1);
        ltL_newtensor(L, x->dtype);
        lua_insert(L, 1);
    }
    lt_tensor *res = ltL_checktensor(L, 1), *x = ltL_checktensor(L, 2);
    lt_tensor *mask = ltL_checktensor(L, 3);
    if (!fresh) ltL_checkinplace(L, "maskedSelect", res, 1, (const lt_tensor *[]){x});
    LT_TRY(L, "maskedSelect", lt_masked_select(res, x, mask));
    if (fresh) LT_TRY(L, "maskedSelect", lt_rec_masked_select(res, x, mask));
    lua_settop(L, 1);
    return 1;
}

/* ---- operators: new tensors, numbers on either side --------------------------------------- */

/* Operands of a metamethod: a tensor and a tensor or number. Checked here with the
 * metamethod's name: Lua gives none to a metamethod that the string library calls ('x' - t),
 * and one called directly with no tensor (mt.__add(1, 2)) has no dtype to take. */
static void check_operands(lua_State *L, const char *name, lt_tensor *a, lt_tensor *b)
{
    /* (a freed or BFloat16 operand never gets here: operand() raised) */
    if (!a && !b)
        luaL_error(L, "%s: expected a tensor operand, got %s and %s", name,
                   luaL_typename(L, 1), luaL_typename(L, 2));
    int other = a ? 2 : 1;
    if ((!a || !b) && !isnum(L, other))
        luaL_error(L, "bad argument #%d to '%s' (tensor or number expected, got %s)", other,
                   name, luaL_typename(L, other));
}

/* ltL_totensor, naming the metamethod when the operand was freed and the other one is a
 * string: reached through the string library's metamethod ('x' / t), the
 * call has no name for Lua and luaL_argerror would say '?' (otherwise Lua's own name, 'div',
 * stays). */
static lt_tensor *operand(lua_State *L, int arg, const char *name)
{
    lt_tensor **box = luaL_testudata(L, arg, LT_TENSOR_MT);
    if (box && lua_type(L, 3 - arg) == LUA_TSTRING) {
        if (!*box) luaL_error(L, "bad argument #%d to '%s' (tensor was freed)", arg, name);
    }
    return ltL_totensor(L, arg);
}

static int arith(lua_State *L, lt_binary_op op, const char *name)
{
    lt_tensor *a = operand(L, 1, name), *b = operand(L, 2, name);
    check_operands(L, name, a, b);
    lt_tensor *res = ltL_newtensor(L, a ? a->dtype : b->dtype);
    binop(L, name, res, op, 1, 2, 1.0, 1);
    return 1;
}

static int m_add(lua_State *L) { return arith(L, LT_OP_ADD, "__add"); }
static int m_sub(lua_State *L) { return arith(L, LT_OP_SUB, "__sub"); }
static int m_div(lua_State *L) { return arith(L, LT_OP_DIV, "__div"); }
static int m_pow(lua_State *L) { return arith(L, LT_OP_POW, "__pow"); }

static int m_unm(lua_State *L)
{
    lt_tensor *a = ltL_checktensor(L, 1);
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    LT_TRY(L, "__unm", lt_unary(res, LT_OP_NEG, a));
    LT_TRY(L, "__unm", lt_rec_unary(res, LT_OP_NEG, a));
    return 1;
}

/* Torch7: tensor * tensor is 2-D @ 2-D (mm), 2-D @ 1-D (mv) or 1-D . 1-D (a number; a
 * 0-dim tensor when an operand requires grad, so that the product can be differentiated) */
static int m_mul(lua_State *L)
{
    lt_tensor *a = operand(L, 1, "__mul"), *b = operand(L, 2, "__mul");
    if (!a || !b) return arith(L, LT_OP_MUL, "__mul");
    if (a->ndim == 1 && b->ndim == 1) {
        double r;
        LT_TRY(L, "__mul", lt_dot(&r, a, b));
        if (lt_needs_grad(2, (const lt_tensor *[]){a, b})) {
            lt_tensor *res = lt_tensor_uninit_on(lt_device(a), a->dtype, 0, NULL);
            ltL_pushtensor(L, res, "__mul");
            lt_set(res, NULL, r);
            LT_TRY(L, "__mul", lt_rec_dot(res, a, b));
        } else if (lt_dtype_is_float(a->dtype)) {
            lua_pushnumber(L, r);
        } else {
            lua_pushinteger(L, (lua_Integer)r);
        }
        return 1;
    }
    if (a->ndim != 2 || (b->ndim != 1 && b->ndim != 2))
        return luaL_error(L, "__mul: multiplication between %dD and %dD tensors is not "
                             "supported (cmul multiplies elementwise)", a->ndim, b->ndim);
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    if (b->ndim == 2) {
        LT_TRY(L, "__mul", lt_mm(res, a, b));
        LT_TRY(L, "__mul", lt_rec_addmm(res, 0, NULL, 1, a, b));
    } else {
        LT_TRY(L, "__mul", lt_mv(res, a, b));
        LT_TRY(L, "__mul", lt_rec_addmv(res, 0, NULL, 1, a, b));
    }
    return 1;
}

void lt_open_pointwise(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"neg", pw_neg, LT_FMW}, {"abs", pw_abs, LT_FMW},
        {"sign", pw_sign, LT_FMW}, {"exp", pw_exp, LT_FMW},
        {"log", pw_log, LT_FMW}, {"log1p", pw_log1p, LT_FMW},
        {"sqrt", pw_sqrt, LT_FMW}, {"rsqrt", pw_rsqrt, LT_FMW},
        {"sigmoid", pw_sigmoid, LT_FMW}, {"tanh", pw_tanh, LT_FMW},
        {"relu", pw_relu, LT_FMW}, {"floor", pw_floor, LT_FMW},
        {"ceil", pw_ceil, LT_FMW}, {"round", pw_round, LT_FMW},
        {"trunc", pw_trunc, LT_FMW}, {"frac", pw_frac, LT_FMW},
        {"sin", pw_sin, LT_FMW}, {"cos", pw_cos, LT_FMW},
        {"square", pw_square, LT_FMW}, {"cinv", pw_cinv, LT_FMW},
        {"reciprocal", pw_reciprocal, LT_FMW},
        {"tan", pw_tan, LT_FMW}, {"asin", pw_asin, LT_FMW},
        {"acos", pw_acos, LT_FMW}, {"atan", pw_atan, LT_FMW},
        {"sinh", pw_sinh, LT_FMW}, {"cosh", pw_cosh, LT_FMW},
        {"expm1", pw_expm1, LT_FMW}, {"erf", pw_erf, LT_FMW},
        {"erfc", pw_erfc, LT_FMW}, {"lgamma", pw_lgamma, LT_FMW},
        {"digamma", pw_digamma, LT_FMW},
        /* x:sub(...) is Torch7's sub-tensor view (ltensor.c); subtraction is csub */
        {"add", pw_add, LT_FMW}, {"csub", pw_csub, LT_FMW},
        {"sub", pw_sub, LT_FW},
        {"mul", pw_mul, LT_FMW}, {"cmul", pw_cmul, LT_FMW},
        {"div", pw_div, LT_FMW}, {"cdiv", pw_cdiv, LT_FMW},
        {"pow", pw_pow, LT_FMW}, {"cpow", pw_cpow, LT_FMW},
        {"cmax", pw_cmax, LT_FMW}, {"cmin", pw_cmin, LT_FMW},
        {"maximum", pw_maximum, LT_FMW}, {"minimum", pw_minimum, LT_FMW},
        {"fmod", pw_fmod, LT_FMW}, {"atan2", pw_atan2, LT_FMW},
        {"remainder", pw_remainder, LT_FMW}, {"cfmod", pw_cfmod, LT_FMW},
        {"cremainder", pw_cremainder, LT_FMW},
        {"eq", pw_eq, LT_FMW}, {"ne", pw_ne, LT_FMW},
        {"lt", pw_lt, LT_FMW}, {"le", pw_le, LT_FMW},
        {"gt", pw_gt, LT_FMW}, {"ge", pw_ge, LT_FMW},
        {"clamp", pw_clamp, LT_FMW}, {"leakyRelu", pw_leakyrelu, LT_FMW},
        {"addcmul", pw_addcmul, LT_FMW}, {"addcdiv", pw_addcdiv, LT_FMW},
        {"where", pw_where, LT_FW},
        {"maskedFill", pw_maskedfill, LT_MW}, {"maskedCopy", pw_maskedcopy, LT_MW},
        {"maskedSelect", pw_maskedselect, LT_FMW},
        {NULL, NULL, 0}};
    ltL_register(L, regs);

    static const ltL_Reg meta[] = {{"__add", m_add, 0}, {"__sub", m_sub, 0},
                                   {"__mul", m_mul, LT_BF16_GEMM}, {"__div", m_div, 0},
                                   {"__pow", m_pow, 0}, {"__unm", m_unm, 0}, {NULL, NULL, 0}};
    luaL_getmetatable(L, LT_TENSOR_MT);
    for (const ltL_Reg *r = meta; r->name; r++) {  /* BFloat16 operands are widened */
        ltL_pushwidening(L, r, 0);
        lua_setfield(L, -2, r->name);
    }
    lua_pop(L, 1);
}
