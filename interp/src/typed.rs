//! Typed host functions and typed calls: Rust types in place of [`Value`] slices.
//!
//! A typed host function is a closure (or `fn`) whose parameter and return types say its
//! wasm signature. [`Store::typed_host_func`] derives the [`FuncType`] from them and wraps
//! the closure into the untyped host-function form ([`HostFn`](crate::HostFn)) the executor
//! already calls: one conversion from the argument slice to typed values, one from the
//! typed results back into the result slice. So the executor does not change, and a call
//! allocates nothing.
//!
//! A [`TypedFunc`] is a function whose signature was checked once against Rust types
//! ([`Store::typed_func`]); its calls pass the arguments and results through stack arrays
//! sized by the types, then [`Store::call`].
//!
//! The Rust types of wasm values are listed at [`WasmTy`].
//!
//! The traits are sealed: the crate implements them for those types, `()` and tuples
//! of up to 16, and their conversions (in the private `sealed` module) are not part of
//! the API.

use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;

use crate::error::{Error, Trap};
use crate::store::{Caller, Func, Store};
use crate::value::{ExternRef, FuncRef, FuncType, ValType, Value};

/// The conversions behind the public traits; private, so no other crate implements them.
mod sealed {
    use super::*;

    /// One wasm value as a Rust type.
    pub trait ValueConv: Copy + Send + 'static {
        /// The wasm type.
        const VAL_TYPE: ValType;
        /// The value as a [`Value`].
        fn into_value(self) -> Value;
        /// The Rust value, or `None` if `value` is of another type.
        fn from_value(value: Value) -> Option<Self>;
    }

    /// A sequence of wasm values as one Rust type.
    pub trait ValuesConv: Sized {
        /// The wasm types, in order.
        const VAL_TYPES: &'static [ValType];
        /// `[Value; N]` for `N` values: the stack array a typed call passes.
        type Values: AsRef<[Value]> + AsMut<[Value]>;
        /// The values, in order.
        fn into_values(self) -> Self::Values;
        /// An array of the right length to receive values (its contents are overwritten).
        fn placeholder() -> Self::Values;
        /// The Rust values, or `None` if the count or a type differs.
        fn from_values(values: &[Value]) -> Option<Self>;
    }

    /// What a typed host function returns, as its results or a trap.
    pub trait HostReturnConv {
        /// The results.
        type Results: WasmTyList;
        /// The results, or the host function's trap.
        fn into_results(self) -> Result<Self::Results, Trap>;
    }

    /// A typed host function of signature `Signature`, and its untyped form.
    pub trait HostFuncConv<Signature>: Send + 'static {
        /// The wasm signature its Rust types give.
        fn func_type() -> FuncType;
        /// The function as an untyped host function of that signature.
        fn into_untyped(
            self,
        ) -> impl FnMut(&mut Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap> + Send + 'static;
    }
}

use sealed::{HostFuncConv, HostReturnConv, ValueConv, ValuesConv};

/// A Rust type that stands for one wasm value type, in a typed host function's
/// parameters and results and a [`TypedFunc`]'s. Sealed: implemented for these only.
///
/// | Rust                  | wasm        |
/// |-----------------------|-------------|
/// | `i32`                 | `i32`       |
/// | `i64`                 | `i64`       |
/// | `f32`                 | `f32`       |
/// | `f64`                 | `f64`       |
/// | `Option<`[`FuncRef`]`>`   | `funcref`   |
/// | `Option<`[`ExternRef`]`>` | `externref` |
///
/// `None` is the null reference. Floats cross as bits (`to_bits`/`from_bits`), so NaN
/// payloads survive. Unsigned integers are deliberately absent: wasm's `i32` has no sign,
/// and which reading a host function wants is its own choice (`x as u32`).
pub trait WasmTy: ValueConv {}

/// A Rust type that stands for a list of wasm value types, the parameters or the results
/// of a [`TypedFunc`] or of a typed host function: `()` for none, a [`WasmTy`] for one,
/// a tuple of [`WasmTy`]s (up to 16) for that many. Sealed.
pub trait WasmTyList: ValuesConv {}

/// What a typed host function may return: a [`WasmTyList`] (`()`, one value or a tuple)
/// as its results, or `Result<_, Trap>` of one, whose `Err` traps the calling wasm code
/// (e.g. `Err(Trap::host("bad pointer"))`). Sealed.
pub trait HostReturn: HostReturnConv {}

/// A closure or function that [`Store::typed_host_func`] can make into a host function:
/// `FnMut(&mut Caller<'_>, P1, ..., Pn) -> R + Send + 'static`, or the same without the
/// [`Caller`], for up to 16 parameters `Pi:` [`WasmTy`] and `R:` [`HostReturn`]. Sealed.
///
/// `Signature` is the function's Rust signature, e.g. `fn(&mut Caller<'_>, i32) -> i64`;
/// the compiler infers it from the closure, whose parameter types must be written out
/// (`|caller: &mut Caller<'_>, x: i32| ...`) since they are what the wasm signature is
/// derived from.
pub trait IntoHostFunc<Signature>: HostFuncConv<Signature> {}

/// The values count or types differ from the signature the host function was made for.
/// Unreachable through linking and [`Store::call`], which check signatures; a trap
/// rather than a panic all the same.
const HOST_ARGS: &str = "typed host function: arguments do not match its signature";
const HOST_RESULTS: &str = "typed host function: result slots do not match its signature";

/// Copies a typed host function's results into the executor's result slots.
fn store_results(values: &[Value], results: &mut [Value]) -> Result<(), Trap> {
    if values.len() != results.len() {
        return Err(Trap::host(HOST_RESULTS));
    }
    results.copy_from_slice(values);
    Ok(())
}

impl ValueConv for i32 {
    const VAL_TYPE: ValType = ValType::I32;
    fn into_value(self) -> Value {
        Value::I32(self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::I32(v) => Some(v),
            _ => None,
        }
    }
}

impl ValueConv for i64 {
    const VAL_TYPE: ValType = ValType::I64;
    fn into_value(self) -> Value {
        Value::I64(self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::I64(v) => Some(v),
            _ => None,
        }
    }
}

impl ValueConv for f32 {
    const VAL_TYPE: ValType = ValType::F32;
    fn into_value(self) -> Value {
        Value::F32(self.to_bits())
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::F32(bits) => Some(f32::from_bits(bits)),
            _ => None,
        }
    }
}

impl ValueConv for f64 {
    const VAL_TYPE: ValType = ValType::F64;
    fn into_value(self) -> Value {
        Value::F64(self.to_bits())
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::F64(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }
}

impl ValueConv for Option<FuncRef> {
    const VAL_TYPE: ValType = ValType::FuncRef;
    fn into_value(self) -> Value {
        Value::FuncRef(self)
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::FuncRef(r) => Some(r),
            _ => None,
        }
    }
}

impl ValueConv for Option<ExternRef> {
    const VAL_TYPE: ValType = ValType::ExternRef;
    fn into_value(self) -> Value {
        Value::ExternRef(self.map(|r| r.0))
    }
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::ExternRef(r) => Some(r.map(ExternRef)),
            _ => None,
        }
    }
}

impl WasmTy for i32 {}
impl WasmTy for i64 {}
impl WasmTy for f32 {}
impl WasmTy for f64 {}
impl WasmTy for Option<FuncRef> {}
impl WasmTy for Option<ExternRef> {}

/// One value is a list of one.
impl<T: WasmTy> ValuesConv for T {
    const VAL_TYPES: &'static [ValType] = &[T::VAL_TYPE];
    type Values = [Value; 1];
    fn into_values(self) -> [Value; 1] {
        [self.into_value()]
    }
    fn placeholder() -> [Value; 1] {
        [Value::I32(0)]
    }
    fn from_values(values: &[Value]) -> Option<Self> {
        match values {
            [value] => T::from_value(*value),
            _ => None,
        }
    }
}

impl<T: WasmTy> WasmTyList for T {}

impl<T: WasmTyList> HostReturnConv for T {
    type Results = T;
    fn into_results(self) -> Result<T, Trap> {
        Ok(self)
    }
}

impl<T: WasmTyList> HostReturnConv for Result<T, Trap> {
    type Results = T;
    fn into_results(self) -> Result<T, Trap> {
        self
    }
}

impl<T: WasmTyList> HostReturn for T {}
impl<T: WasmTyList> HostReturn for Result<T, Trap> {}

/// For `n` types `Ti` (bound to values `vi`): the tuple `(T1, ..., Tn)` as a
/// [`WasmTyList`], and closures with those parameters, with and without a [`Caller`],
/// as [`IntoHostFunc`].
macro_rules! arity {
    ($n:literal: $($t:ident $v:ident),*) => {
        impl<$($t: WasmTy),*> ValuesConv for ($($t,)*) {
            const VAL_TYPES: &'static [ValType] = &[$(<$t as ValueConv>::VAL_TYPE),*];
            type Values = [Value; $n];
            fn into_values(self) -> [Value; $n] {
                let ($($v,)*) = self;
                [$($v.into_value()),*]
            }
            fn placeholder() -> [Value; $n] {
                [Value::I32(0); $n]
            }
            fn from_values(values: &[Value]) -> Option<Self> {
                let [$($v),*] = values else {
                    return None;
                };
                Some(($(<$t as ValueConv>::from_value(*$v)?,)*))
            }
        }

        impl<$($t: WasmTy),*> WasmTyList for ($($t,)*) {}

        impl<F, R, $($t: WasmTy),*> HostFuncConv<fn(&mut Caller<'_>, $($t),*) -> R> for F
        where
            F: FnMut(&mut Caller<'_>, $($t),*) -> R + Send + 'static,
            R: HostReturn,
        {
            fn func_type() -> FuncType {
                signature::<($($t,)*), R::Results>()
            }
            fn into_untyped(
                self,
            ) -> impl FnMut(&mut Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap>
                + Send
                + 'static {
                let mut f = self;
                move |caller: &mut Caller<'_>, args: &[Value], results: &mut [Value]| {
                    let ($($v,)*) = <($($t,)*) as ValuesConv>::from_values(args)
                        .ok_or_else(|| Trap::host(HOST_ARGS))?;
                    let values = f(caller, $($v),*).into_results()?.into_values();
                    store_results(values.as_ref(), results)
                }
            }
        }

        impl<F, R, $($t: WasmTy),*> IntoHostFunc<fn(&mut Caller<'_>, $($t),*) -> R> for F
        where
            F: FnMut(&mut Caller<'_>, $($t),*) -> R + Send + 'static,
            R: HostReturn,
        {
        }

        impl<F, R, $($t: WasmTy),*> HostFuncConv<fn($($t),*) -> R> for F
        where
            F: FnMut($($t),*) -> R + Send + 'static,
            R: HostReturn,
        {
            fn func_type() -> FuncType {
                signature::<($($t,)*), R::Results>()
            }
            fn into_untyped(
                self,
            ) -> impl FnMut(&mut Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap>
                + Send
                + 'static {
                let mut f = self;
                move |_: &mut Caller<'_>, args: &[Value], results: &mut [Value]| {
                    let ($($v,)*) = <($($t,)*) as ValuesConv>::from_values(args)
                        .ok_or_else(|| Trap::host(HOST_ARGS))?;
                    let values = f($($v),*).into_results()?.into_values();
                    store_results(values.as_ref(), results)
                }
            }
        }

        impl<F, R, $($t: WasmTy),*> IntoHostFunc<fn($($t),*) -> R> for F
        where
            F: FnMut($($t),*) -> R + Send + 'static,
            R: HostReturn,
        {
        }
    };
}

arity!(0:);
arity!(1: T1 v1);
arity!(2: T1 v1, T2 v2);
arity!(3: T1 v1, T2 v2, T3 v3);
arity!(4: T1 v1, T2 v2, T3 v3, T4 v4);
arity!(5: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5);
arity!(6: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6);
arity!(7: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7);
arity!(8: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8);
arity!(9: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9);
arity!(10: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10);
arity!(11: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11);
arity!(12: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11,
    T12 v12);
arity!(13: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11,
    T12 v12, T13 v13);
arity!(14: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11,
    T12 v12, T13 v13, T14 v14);
arity!(15: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11,
    T12 v12, T13 v13, T14 v14, T15 v15);
arity!(16: T1 v1, T2 v2, T3 v3, T4 v4, T5 v5, T6 v6, T7 v7, T8 v8, T9 v9, T10 v10, T11 v11,
    T12 v12, T13 v13, T14 v14, T15 v15, T16 v16);

/// The wasm signature `Params -> Results`.
fn signature<Params: WasmTyList, Results: WasmTyList>() -> FuncType {
    FuncType::new(Params::VAL_TYPES.iter().copied(), Results::VAL_TYPES.iter().copied())
}

/// Makes `f` a host function in `store` ([`Store::typed_host_func`]).
pub(crate) fn host_func<Signature, F: IntoHostFunc<Signature>>(store: &mut Store, f: F) -> Func {
    store.host_func(F::func_type(), f.into_untyped())
}

/// A function whose signature was checked against the Rust types `Params -> Results`
/// (each a [`WasmTyList`]: `()`, one [`WasmTy`] or a tuple), so that calls pass Rust
/// values and allocate nothing. Made by [`Store::typed_func`] or
/// [`Instance::typed_func`](crate::Instance::typed_func); like every handle it means
/// nothing in another store.
pub struct TypedFunc<Params, Results> {
    func: Func,
    signature: PhantomData<fn(Params) -> Results>,
}

impl<Params: WasmTyList, Results: WasmTyList> TypedFunc<Params, Results> {
    /// `func` of `store`, if its signature is `Params -> Results`.
    pub(crate) fn new(store: &Store, func: Func) -> Result<Self, Error> {
        let found = found_type(store, func)?;
        if found.params() != Params::VAL_TYPES || found.results() != Results::VAL_TYPES {
            return Err(Error::SignatureMismatch {
                expected: Box::new(signature::<Params, Results>()),
                found: Box::new(found.clone()),
            });
        }
        Ok(TypedFunc { func, signature: PhantomData })
    }

    /// Calls the function with `params` and returns its results; traps come back as
    /// `Error::Trap`. Arguments and results pass through stack arrays: nothing allocates
    /// (but a trap's message, for a host trap).
    pub fn call(&self, store: &mut Store, params: Params) -> Result<Results, Error> {
        let args = params.into_values();
        let mut results = Results::placeholder();
        store.call(self.func, args.as_ref(), results.as_mut())?;
        match Results::from_values(results.as_ref()) {
            Some(results) => Ok(results),
            // Only reachable with a store the function does not belong to.
            None => Err(Error::SignatureMismatch {
                expected: Box::new(signature::<Params, Results>()),
                found: Box::new(found_type(store, self.func)?.clone()),
            }),
        }
    }

    /// The function, for the untyped API.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// `func`'s signature, or an error for a handle of another store.
fn found_type(store: &Store, func: Func) -> Result<&FuncType, Error> {
    store
        .funcs
        .get(func.0 as usize)
        .and_then(|entity| store.types.get(entity.ty as usize))
        .ok_or(Error::ForeignHandle { what: "function handle" })
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Params, Results> Copy for TypedFunc<Params, Results> {}

impl<Params, Results> fmt::Debug for TypedFunc<Params, Results> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .field("params", &core::any::type_name::<Params>())
            .field("results", &core::any::type_name::<Results>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use alloc::string::ToString;

    /// The untyped form of `f`, called with slices the executor would never pass.
    fn untyped<S>(f: impl IntoHostFunc<S>, args: &[Value], results: &mut [Value]) -> Trap {
        let mut f = f.into_untyped();
        let mut data = crate::store::HostData::default();
        f(&mut Caller { memory: None, data: &mut data, yield_requested: false }, args, results)
            .expect_err("a mismatch traps")
    }

    #[test]
    fn mismatched_slices_trap_instead_of_panicking() {
        let add = |a: i32, b: i64| a as i64 + b;
        let mut one = [Value::I64(0)];
        for args in [&[][..], &[Value::I32(1)], &[Value::I64(1), Value::I32(2)]] {
            assert_eq!(untyped(add, args, &mut one).message(), HOST_ARGS);
        }
        let args = [Value::I32(1), Value::I64(2)];
        assert_eq!(untyped(add, &args, &mut []).message(), HOST_RESULTS);
        assert_eq!(untyped(add, &args, &mut [Value::I64(0); 2]).message(), HOST_RESULTS);
        let mut f = add.into_untyped();
        let mut data = crate::store::HostData::default();
        f(&mut Caller { memory: None, data: &mut data, yield_requested: false }, &args, &mut one)
            .unwrap();
        assert_eq!(one, [Value::I64(3)]);
    }

    #[test]
    fn conversions_refuse_other_types() {
        for value in [Value::I64(0), Value::F32(0), Value::F64(0), Value::FuncRef(None)] {
            assert_eq!(i32::from_value(value), None);
            assert_eq!(<Option<ExternRef>>::from_value(value), None);
        }
        assert_eq!(<Option<FuncRef>>::from_value(Value::ExternRef(None)), None);
        assert_eq!(<(i32, f32)>::from_values(&[Value::F32(0), Value::I32(0)]), None);
        assert_eq!(<()>::from_values(&[Value::I32(0)]), None);
        assert_eq!(<()>::from_values(&[]), Some(()));
    }

    #[test]
    fn derived_signatures() {
        fn ty<S, F: IntoHostFunc<S>>(_: &F) -> FuncType {
            F::func_type()
        }
        let f = |_: &mut Caller<'_>,
                 _: Option<FuncRef>,
                 _: Option<ExternRef>|
         -> Result<(), Trap> { Ok(()) };
        assert_eq!(ty(&f).to_string(), "(funcref, externref) -> ()");
        assert_eq!(ty(&|| (1.0f32, 2.0f64)).to_string(), "() -> (f32, f64)");
        assert_eq!(signature::<i64, ()>(), FuncType::new([ValType::I64], []));
    }

    #[test]
    fn typed_func_is_copy_and_checked_against_its_store() {
        let mut store = Store::new(Config::new());
        let f = store.typed_host_func(|x: i32| x);
        let typed = store.typed_func::<i32, i32>(f).unwrap();
        let copy = typed;
        assert_eq!((typed.call(&mut store, 3), copy.call(&mut store, 4)), (Ok(3), Ok(4)));
    }
}
