// Node-API binding of the core: loadModel and Model.forwardSample (Promises: the work runs off the JavaScript
// thread), Model.newCache, Model.forward (the reference path, blocking), dispose(), and machine facts.
#include <napi.h>

#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "formats.h"
#include "weights.h"
#include "hogwild.h"
#include "parallel.h"

namespace {

using hogwild::Error;

// Every argument is checked here, at the boundary, for its JavaScript type (a typed array's element type too: a
// Uint8Array's length read as floats runs 4x past its end) and range, and refused naming the function and the
// argument: a TypeError for a wrong type, a RangeError for a number out of range.
[[noreturn]] void type_error(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] void range_error(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

std::string number_text(double d) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", d);
  return b;
}

// What a value is, for an error: "a Uint8Array", "a number (5)", "undefined".
std::string kind_of(const Napi::Value& v);

template <class T> struct ArrayKind;
template <> struct ArrayKind<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "a Float32Array";
};
template <> struct ArrayKind<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "an Int32Array";
};
template <> struct ArrayKind<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "a Uint8Array";
};

// `v` as a typed array of T's elements, or a TypeError "fn: name must be a Float32Array, got a Uint8Array".
template <class T> Napi::TypedArrayOf<T> typed(const Napi::Value& v, const char* fn, const std::string& name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayKind<T>::type)
    type_error(v.Env(), std::string(fn) + ": " + name + " must be " + ArrayKind<T>::name + ", got " + kind_of(v));
  return v.As<Napi::TypedArrayOf<T>>();
}

// `v` as an integer in [lo, hi]: a TypeError when it is no number, a RangeError when it is not such an integer
// (never wrapped modulo 2^32 on the way, as Int32Value would).
int64_t integer(const Napi::Value& v, const char* fn, const char* name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) type_error(v.Env(), std::string(fn) + ": " + name + " must be a number, got " + kind_of(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= double(lo) && d <= double(hi) && d == std::floor(d)))
    range_error(v.Env(), std::string(fn) + ": " + name + " must be an integer in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "], got " + number_text(d));
  return int64_t(d);
}

std::string string_arg(const Napi::Value& v, const char* fn, const char* name) {
  if (!v.IsString()) type_error(v.Env(), std::string(fn) + ": " + name + " must be a string, got " + kind_of(v));
  return v.As<Napi::String>().Utf8Value();
}

// Sampling specs travel as kSampleFloats floats per row, in the order of formats::kSampleFields. The integer
// fields must be integers in [0, 2^31) as floats (a NaN or 1e10 converted to int is undefined behaviour); the
// rule's own ranges are hogwild::check_spec_ranges', shared with the GPU.
constexpr bool same(const char* a, const char* b) { return *a == *b && (*a == 0 || same(a + 1, b + 1)); }
std::vector<hogwild::SampleSpec> read_specs(const Napi::Float32Array& a, int rows) {
  using hogwild::formats::kSampleFields;
  using hogwild::formats::kSampleFloats;
  static_assert(same(kSampleFields[0], "temperature") && same(kSampleFields[1], "top_p") && same(kSampleFields[2], "min_p") &&
                same(kSampleFields[3], "u") && same(kSampleFields[4], "top_k") && same(kSampleFields[5], "suppress_start") &&
                same(kSampleFields[6], "suppress_count") && same(kSampleFields[7], "logprobs") &&
                same(kSampleFields[8], "logprobs_start") && kSampleFloats == 9,
                "read_specs follows formats::kSampleFields");
  if (a.ElementLength() != size_t(rows) * kSampleFloats)
    throw Error("sampling: expected " + std::to_string(kSampleFloats) + " values per logits row");
  std::vector<hogwild::SampleSpec> specs(rows);
  for (int r = 0; r < rows; r++) {
    const float* v = a.Data() + size_t(r) * kSampleFloats;
    auto whole = [&](int i) {
      if (!(v[i] >= 0 && v[i] < 2147483648.0f && v[i] == std::floor(v[i])))
        range_error(a.Env(), "sampling: row " + std::to_string(r) + "'s " + kSampleFields[i] + " is " +
                                 number_text(v[i]) + ", expected an integer in [0, 2^31)");
      return int(v[i]);
    };
    specs[r].temperature = v[0];
    specs[r].top_p = v[1];
    specs[r].min_p = v[2];
    specs[r].u = v[3];
    specs[r].top_k = whole(4);
    specs[r].suppress_start = whole(5);
    specs[r].suppress_count = whole(6);
    specs[r].logprobs = whole(7);
    specs[r].logprobs_start = whole(8);
  }
  return specs;
}

// The optional { sampled: Float32Array [rows], ids: Int32Array, logprobs: Float32Array } the log-probabilities
// the specs ask for go to. Its fields are read first, before any array's memory is looked up: a getter runs
// JavaScript, which could detach a buffer whose pointer was already taken. Nothing read after them runs any.
struct LogprobsFields {
  bool given = false;
  Napi::Value sampled, ids, logprobs;
};
LogprobsFields fetch_logprobs(const Napi::CallbackInfo& info, size_t at, const char* fn) {
  if (info.Length() <= at || info[at].IsUndefined()) return {};
  if (!info[at].IsObject())
    type_error(info.Env(), std::string(fn) + ": logprobs must be an object { sampled, ids, logprobs } or undefined, got " +
                               kind_of(info[at]));
  const Napi::Object o = info[at].As<Napi::Object>();
  LogprobsFields f;
  f.given = true;
  f.sampled = o.Get("sampled");
  f.ids = o.Get("ids");
  f.logprobs = o.Get("logprobs");
  return f;
}
// The fields checked (hogwild::Logprobs in `view`; none given: an empty one).
struct LogprobsArrays {
  Napi::Float32Array sampled, logprobs;
  Napi::Int32Array ids;
  hogwild::Logprobs view;
};
LogprobsArrays check_logprobs(const LogprobsFields& f, int rows, const char* fn) {
  if (!f.given) return {};
  LogprobsArrays a;
  a.sampled = typed<float>(f.sampled, fn, "logprobs.sampled");
  a.ids = typed<int32_t>(f.ids, fn, "logprobs.ids");
  a.logprobs = typed<float>(f.logprobs, fn, "logprobs.logprobs");
  if (a.sampled.ElementLength() < size_t(rows) || a.ids.ElementLength() != a.logprobs.ElementLength() ||
      a.ids.ElementLength() > size_t(INT32_MAX))
    throw Error("sampling: the log-probabilities' buffers do not fit the rows");
  a.view = {a.sampled.Data(), a.ids.Data(), a.logprobs.Data(), int(a.ids.ElementLength())};
  return a;
}

// The canonical tensors (name, shape, dtypes) the core loads for a model spec: the one list (weights.cc), which
// the host maps to a checkpoint's names (engine/spec.ts).
Napi::Value ExpectedTensors(const Napi::CallbackInfo& info) {
  auto bytes = typed<uint8_t>(info[0], "expectedTensors", "spec");
  const hogwild::ModelSpec spec = hogwild::decode_spec(bytes.Data(), bytes.ByteLength());
  const auto list = hogwild::expected_tensors(spec);
  // with a device: each tensor's bytes as that device stores it (stored_bytes), what its load will take
  std::string device;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    device = string_arg(info[1], "expectedTensors", "device");
    if (device != "cpu" && device != "cuda")
      range_error(info.Env(), "expectedTensors: device must be \"cpu\" or \"cuda\", got \"" + device + "\"");
  }
  Napi::Array a = Napi::Array::New(info.Env(), list.size());
  for (size_t i = 0; i < list.size(); i++) {
    Napi::Object t = Napi::Object::New(info.Env());
    Napi::Array shape = Napi::Array::New(info.Env(), list[i].shape.size());
    for (size_t d = 0; d < list[i].shape.size(); d++) shape[d] = Napi::Number::New(info.Env(), double(list[i].shape[d]));
    Napi::Array dtypes = Napi::Array::New(info.Env(), list[i].dtypes.size());
    for (size_t d = 0; d < list[i].dtypes.size(); d++) dtypes[d] = Napi::Number::New(info.Env(), int(list[i].dtypes[d]));
    t["name"] = Napi::String::New(info.Env(), list[i].name);
    t["shape"] = shape;
    t["dtypes"] = dtypes;  // DType codes; none: any float dtype
    if (!device.empty()) t["bytes"] = Napi::Number::New(info.Env(), double(hogwild::stored_bytes(spec, list[i], device == "cuda")));
    a[i] = t;
  }
  return a;
}

// deviceOptions(text): the CUDA options' canonical text, every option included; throws on a bad one.
Napi::Value DeviceOptionsText(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(),
                           hogwild::format_device_options(hogwild::parse_device_options(string_arg(info[0], "deviceOptions", "text"))));
}

// The formats' tables and version (formats.h), for the host to compare with its own at load.
Napi::Value Abi(const Napi::CallbackInfo& info) {
  namespace f = hogwild::formats;
  Napi::Env env = info.Env();
  auto fields = [&](const f::Field* t, size_t n) {
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) a[i] = Napi::String::New(env, std::string(t[i].name) + ":" + t[i].type);
    return a;
  };
  auto names = [&](const char* const* t, size_t n) {
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) a[i] = Napi::String::New(env, t[i]);
    return a;
  };
  Napi::Array sections = Napi::Array::New(env, std::size(f::kPlanSections));
  for (size_t i = 0; i < std::size(f::kPlanSections); i++) {
    const auto& s = f::kPlanSections[i];
    sections[i] = Napi::String::New(env, std::string(s.name) + ":" + s.count + (s.plus ? "+" + std::to_string(s.plus) : ""));
  }
  Napi::Object o = Napi::Object::New(env);
  o["version"] = Napi::Number::New(env, f::kAbiVersion);
  o["spec"] = fields(f::kSpecFields, std::size(f::kSpecFields));
  o["tensor"] = fields(f::kTensorFields, std::size(f::kTensorFields));
  o["planHeader"] = names(f::kPlanHeader, std::size(f::kPlanHeader));
  o["plan"] = sections;
  o["sample"] = names(f::kSampleFields, std::size(f::kSampleFields));
  o["dtypes"] = names(f::kDTypeCodes, std::size(f::kDTypeCodes));
  o["quants"] = names(f::kQuantCodes, std::size(f::kQuantCodes));
  o["flags"] = names(f::kSpecFlags, std::size(f::kSpecFlags));
  return o;
}

// One thread runs all of the core's work in the process: every load and pass of every model, blocking or not,
// and the bandwidth measure. The runtime runs async work on whichever of its threads is free, and an OpenMP
// team belongs to the thread that starts it: passes spread over many threads made a team per thread,
// contending for the cores (measured: the demo bench 1.8x slower), and even idle teams left by a load and a
// bandwidth measure on other threads cost a 2-core machine 30% of a 4-worker pass (OpenMP stops spinning
// between parallel regions once it manages more threads than there are cores). On a GPU it keeps the device's
// calls on one thread too.
class CoreThread {
 public:
  ~CoreThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Runs `job` there and waits for it; an exception it throws is thrown here.
  void run(std::function<void()> job) {
    std::packaged_task<void()> task(std::move(job));
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    done.get();
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// Never destroyed: the thread ends with the process.
CoreThread& core_thread() {
  static CoreThread* t = new CoreThread;
  return *t;
}

// A refusal of an object's state (disposed, or a pass in flight), told apart from a failure of the work itself
// (a size the device cannot hold, a bad plan): its JavaScript error carries the code engine/native.ts names
// STATE_ERROR, so that the host never tells the two apart by their wording.
[[noreturn]] void state_error(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "HOGWILD_STATE"));
  throw e;
}

// The classes' constructors, per JavaScript environment (the main thread and each worker that loads the addon
// has its own): instance data of the environment, never process-wide statics that a second one would overwrite.
struct Classes {
  Napi::FunctionReference cache, model;
};
Classes& classes(Napi::Env env) { return *env.GetInstanceData<Classes>(); }

// Type tags of the two classes' objects: an ObjectWrap's Unwrap takes any wrapped object (a model passed as a
// cache, Cache.prototype.dispose called on a model), so every object is told apart by its tag before it is used.
constexpr napi_type_tag kCacheTag = {0x6877636163686531ULL, 0x9d2f4e0b7a31c5e2ULL};
constexpr napi_type_tag kModelTag = {0x68776d6f64656c31ULL, 0x51c08e3fd2a7b64dULL};

bool tagged(const Napi::Value& v, const napi_type_tag* tag) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(tag);
}

std::string kind_of(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "a number (" + number_text(v.As<Napi::Number>().DoubleValue()) + ")";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsTypedArray()) {
    const std::string n = typed_array_name(v.As<Napi::TypedArray>().TypedArrayType());
    return (n[0] == 'I' || n[0] == 'U' ? "an " : "a ") + n;
  }
  if (v.IsArray()) return "an Array";
  if (v.IsDataView()) return "a DataView";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsFunction()) return "a function";
  if (tagged(v, &kModelTag)) return "a model";
  if (tagged(v, &kCacheTag)) return "a KV cache";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

class CacheWrap : public Napi::ObjectWrap<CacheWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Cache",
                                   {InstanceAccessor<&CacheWrap::Bytes>("bytes"),
                                    InstanceAccessor<&CacheWrap::Pages>("pages"),
                                    InstanceAccessor<&CacheWrap::PageSize>("pageSize"),
                                    InstanceMethod<&CacheWrap::Dispose>("dispose")});
    return f;
  }
  explicit CacheWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CacheWrap>(info) {
    info.This().As<Napi::Object>().TypeTag(&kCacheTag);
  }
  // Hides ObjectWrap::Unwrap, which its method wrappers call for `this`: only an object of this class unwraps.
  static CacheWrap* Unwrap(Napi::Object o) {
    if (!tagged(o, &kCacheTag)) type_error(o.Env(), "Cache: `this` must be a KV cache, got " + kind_of(o));
    return Napi::ObjectWrap<CacheWrap>::Unwrap(o);
  }
  // A function's `cache` argument.
  static CacheWrap* Arg(const Napi::Value& v, const char* fn) {
    if (!tagged(v, &kCacheTag))
      type_error(v.Env(), std::string(fn) + ": cache must be a KV cache (from newCache), got " + kind_of(v));
    return Napi::ObjectWrap<CacheWrap>::Unwrap(v.As<Napi::Object>());
  }
  std::unique_ptr<hogwild::Cache> cache;
  bool in_pass = false;  // a pass off the JavaScript thread writes it: it must outlive the pass

  hogwild::Cache& get(Napi::Env env) {
    if (!cache) state_error(env, "the KV cache was disposed");
    return *cache;
  }

 private:
  Napi::Value Bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(get(info.Env()).bytes())); }
  Napi::Value Pages(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), get(info.Env()).pages()); }
  Napi::Value PageSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), get(info.Env()).page_size()); }
  // Frees the cache's memory now (device memory included) rather than when the garbage collector gets to it.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (in_pass) state_error(info.Env(), "dispose: a forward pass is writing this KV cache; await it first");
    cache.reset();
    return info.Env().Undefined();
  }
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "Model",
                                   {InstanceMethod<&ModelWrap::NewCache>("newCache"),
                                    InstanceMethod<&ModelWrap::Forward>("forward"),
                                    InstanceMethod<&ModelWrap::ForwardSample>("forwardSample"),
                                    InstanceMethod<&ModelWrap::Dispose>("dispose"),
                                    InstanceAccessor<&ModelWrap::WeightBytes>("weightBytes"),
                                    InstanceAccessor<&ModelWrap::Options>("options"),
                                    InstanceAccessor<&ModelWrap::Device>("device"),
                                    InstanceAccessor<&ModelWrap::GemmLibrary>("gemmLibrary")});
    return f;
  }
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    info.This().As<Napi::Object>().TypeTag(&kModelTag);
  }
  // As CacheWrap::Unwrap.
  static ModelWrap* Unwrap(Napi::Object o) {
    if (!tagged(o, &kModelTag)) type_error(o.Env(), "Model: `this` must be a model, got " + kind_of(o));
    return Napi::ObjectWrap<ModelWrap>::Unwrap(o);
  }
  std::unique_ptr<hogwild::Model> model;
  bool in_pass = false;  // one pass at a time: the model's scratch buffers, stream and graphs are not shared

 private:
  // The model for a pass or a new cache: not disposed, and no pass in flight.
  hogwild::Model& get(Napi::Env env, const char* what) {
    if (in_pass) state_error(env, std::string(what) + ": a forward pass is in flight on this model; await it first");
    return facts(env, what);
  }
  // The model for its facts (read-only, also during a pass): not disposed.
  hogwild::Model& facts(Napi::Env env, const char* what) {
    if (!model) state_error(env, std::string(what) + ": the model was disposed");
    return *model;
  }

  Napi::Value NewCache(const Napi::CallbackInfo& info) {
    hogwild::Model& m = get(info.Env(), "newCache");
    const int64_t pages = integer(info[0], "newCache", "pages", 1, INT32_MAX);
    const int64_t page_size = integer(info[1], "newCache", "pageSize", 1, INT32_MAX);
    Napi::Object obj = classes(info.Env()).cache.New({});
    CacheWrap::Unwrap(obj)->cache = m.new_cache(int(pages), int(page_size));
    return obj;
  }

  // forward(cache, plan: Int32Array, logits: Float32Array) -> the first logits row holding a NaN or ±Inf, or -1: the
  // reference path; it blocks for the pass (the JavaScript thread waits: nothing can change the arrays meanwhile).
  // The rows are checked here (a JavaScript scan took ~1 ms a row).
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    hogwild::Model& m = get(info.Env(), "forward");
    hogwild::Cache& cache = CacheWrap::Arg(info[0], "forward")->get(info.Env());
    auto plan = typed<int32_t>(info[1], "forward", "plan");
    auto out = typed<float>(info[2], "forward", "logits");
    const hogwild::Plan p =
        hogwild::decode_plan(plan.Data(), plan.ElementLength(), m.spec().vocab, cache.pages(), cache.page_size());
    hogwild::check_cache(m.spec(), cache);
    if (out.ElementLength() < size_t(p.L) * m.spec().vocab)
      throw Error("forward: the logits buffer is too small for " + std::to_string(p.L) + " rows");
    core_thread().run([&] { m.forward(cache, p, out.Data()); });
    const int vocab = m.spec().vocab;
    for (int r = 0; r < p.L; r++) {
      const float* x = out.Data() + size_t(r) * vocab;
      bool broken = false;  // x − x is 0 for a finite x, NaN for NaN and ±Inf
      for (int i = 0; i < vocab; i++) broken |= !(x[i] - x[i] == 0.0f);  // no early exit: the loop stays vectorised
      if (broken) return Napi::Number::New(info.Env(), r);
    }
    return Napi::Number::New(info.Env(), -1);
  }

  // forwardSample(cache, plan, specs: Float32Array [L*kSampleFloats], suppress: Int32Array, ids: Int32Array,
  // logprobs?) -> Promise: the pass, then one token per logits row where the logits are (on a GPU only ids come
  // back, and the log-probabilities the specs ask for). The inputs are checked here, at once; the pass runs on a
  // worker thread, so the JavaScript thread is free meanwhile (the viewer, grading, signals, records).
  Napi::Value ForwardSample(const Napi::CallbackInfo& info);

  // Frees the weights now (device memory included) rather than when the garbage collector gets to it.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (in_pass) state_error(info.Env(), "dispose: a forward pass is in flight on this model; await it first");
    model.reset();
    return info.Env().Undefined();
  }
  friend class PassWorker;

  Napi::Value WeightBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(facts(info.Env(), "weightBytes").weight_bytes()));
  }
  Napi::Value Options(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), hogwild::format_device_options(facts(info.Env(), "options").options()));
  }
  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), facts(info.Env(), "device").device());
  }
  Napi::Value GemmLibrary(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), facts(info.Env(), "gemmLibrary").gemm_library());
  }
};

// A sampled pass on a worker thread. JavaScript runs meanwhile and may change or detach (transfer) any array it
// passed: so the pass reads only copies it owns (the plan, which the decoded Plan points into, and the suppressed
// ids) and writes into buffers it owns, copied into the caller's arrays when it ends (OnOK), each looked up again
// there: one detached meanwhile rejects the Promise, naming it. It holds the model and the cache objects and marks
// both busy meanwhile, so that nothing frees or reuses them under it.
class PassWorker : public Napi::AsyncWorker {
 public:
  PassWorker(const Napi::CallbackInfo& info, ModelWrap* model, CacheWrap* cache, std::vector<int32_t> plan_words,
             const hogwild::Plan& plan, std::vector<hogwild::SampleSpec> specs, std::vector<int32_t> suppress,
             const Napi::Int32Array& ids, const LogprobsArrays& logprobs)
      : Napi::AsyncWorker(info.Env()), deferred_(Napi::Promise::Deferred::New(info.Env())), model_(model),
        cache_(cache), plan_words_(std::move(plan_words)), plan_(plan), specs_(std::move(specs)),
        suppress_(std::move(suppress)), ids_(size_t(plan.L)) {
    // plan_ points into plan_words_'s buffer, which the move above kept where it was
    held_.push_back(Napi::Persistent(info.This().As<Napi::Object>()));
    held_.push_back(Napi::Persistent(info[0].As<Napi::Object>()));
    ids_out_ = Napi::Persistent(ids);
    if (logprobs.view.sampled) {  // the arrays checked at the call (their kinds cannot change)
      sampled_out_ = Napi::Persistent(logprobs.sampled);
      top_ids_out_ = Napi::Persistent(logprobs.ids);
      top_lp_out_ = Napi::Persistent(logprobs.logprobs);
      sampled_.resize(size_t(plan.L));
      top_ids_.resize(size_t(logprobs.view.total));
      top_lp_.resize(size_t(logprobs.view.total));
      logprobs_ = {sampled_.data(), top_ids_.data(), top_lp_.data(), logprobs.view.total};
    }
    model_->in_pass = cache_->in_pass = true;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      core_thread().run([this] {
        model_->model->forward_sample(*cache_->cache, plan_, specs_.data(), suppress_.data(), int(suppress_.size()),
                                      ids_.data(), logprobs_);
      });
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    model_->in_pass = cache_->in_pass = false;
    try {
      copy_out(ids_out_.Value(), ids_, "ids");
      if (logprobs_.sampled) {
        copy_out(sampled_out_.Value(), sampled_, "logprobs.sampled");
        copy_out(top_ids_out_.Value(), top_ids_, "logprobs.ids");
        copy_out(top_lp_out_.Value(), top_lp_, "logprobs.logprobs");
      }
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(Env(), e.what()).Value());
      return;
    }
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    model_->in_pass = cache_->in_pass = false;
    deferred_.Reject(e.Value());
  }

 private:
  template <class T> static void copy_out(Napi::TypedArrayOf<T> to, const std::vector<T>& from, const char* name) {
    if (to.ElementLength() < from.size())
      throw Error(std::string("forwardSample: ") + name + " was detached during the pass (or shrank): its " +
                  std::to_string(from.size()) + " values are lost");
    std::copy(from.begin(), from.end(), to.Data());
  }
  Napi::Promise::Deferred deferred_;
  ModelWrap* model_;
  CacheWrap* cache_;
  std::vector<int32_t> plan_words_;
  hogwild::Plan plan_;
  std::vector<hogwild::SampleSpec> specs_;
  std::vector<int32_t> suppress_;
  std::vector<int32_t> ids_;
  std::vector<float> sampled_, top_lp_;
  std::vector<int32_t> top_ids_;
  hogwild::Logprobs logprobs_;
  Napi::Reference<Napi::Int32Array> ids_out_, top_ids_out_;
  Napi::Reference<Napi::Float32Array> sampled_out_, top_lp_out_;
  std::vector<Napi::ObjectReference> held_;
};

Napi::Value ModelWrap::ForwardSample(const Napi::CallbackInfo& info) {
  const LogprobsFields lp_fields = fetch_logprobs(info, 5, "forwardSample");  // getters first (JavaScript)
  hogwild::Model& m = get(info.Env(), "forwardSample");
  CacheWrap* c = CacheWrap::Arg(info[0], "forwardSample");
  hogwild::Cache& cache = c->get(info.Env());
  if (c->in_pass) state_error(info.Env(), "forwardSample: a forward pass is writing this KV cache; await it first");
  auto plan = typed<int32_t>(info[1], "forwardSample", "plan");
  auto specs_arg = typed<float>(info[2], "forwardSample", "specs");
  auto suppress = typed<int32_t>(info[3], "forwardSample", "suppress");
  auto ids = typed<int32_t>(info[4], "forwardSample", "ids");
  // Copies taken now, before the pass leaves the JavaScript thread; the plan is decoded from its copy.
  std::vector<int32_t> words(plan.Data(), plan.Data() + plan.ElementLength());
  const hogwild::Plan p = hogwild::decode_plan(words.data(), words.size(), m.spec().vocab, cache.pages(), cache.page_size());
  hogwild::check_cache(m.spec(), cache);
  std::vector<hogwild::SampleSpec> specs = read_specs(specs_arg, p.L);
  if (suppress.ElementLength() > size_t(INT32_MAX)) range_error(info.Env(), "forwardSample: suppress holds over 2^31 ids");
  std::vector<int32_t> suppressed(suppress.Data(), suppress.Data() + suppress.ElementLength());
  if (ids.ElementLength() < size_t(p.L)) throw Error("forwardSample: the ids buffer is too small");
  const LogprobsArrays lp = check_logprobs(lp_fields, p.L, "forwardSample");
  hogwild::check_spec_ranges(specs.data(), p.L, m.spec().vocab, suppressed.data(), int(suppressed.size()), lp.view);
  auto* w = new PassWorker(info, this, c, std::move(words), p, std::move(specs), std::move(suppressed), ids, lp);
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

// Loading reads gigabytes: it runs off the JavaScript thread and resolves a Promise.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::vector<uint8_t> spec, std::string device, hogwild::DeviceOptions options)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), spec_(std::move(spec)),
        device_(std::move(device)), options_(std::move(options)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      core_thread().run([this] { model_ = hogwild::load_model(hogwild::decode_spec(spec_.data(), spec_.size()), device_, options_); });
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Object obj = classes(Env()).model.New({});
    ModelWrap::Unwrap(obj)->model = std::move(model_);
    deferred_.Resolve(obj);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> spec_;
  std::string device_;
  hogwild::DeviceOptions options_;
  std::unique_ptr<hogwild::Model> model_;
};

Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  auto bytes = typed<uint8_t>(info[0], "loadModel", "spec");
  std::vector<uint8_t> spec(bytes.Data(), bytes.Data() + bytes.ByteLength());
  const std::string device = string_arg(info[1], "loadModel", "device");
  const std::string text = info.Length() > 2 && !info[2].IsUndefined() ? string_arg(info[2], "loadModel", "options") : "";
  // options: "KEY=VALUE,..." (parse_device_options), parsed here so that a bad one rejects at once.
  hogwild::DeviceOptions options;
  try {
    options = hogwild::parse_device_options(text);
  } catch (const std::exception& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(info.Env());
    d.Reject(Napi::Error::New(info.Env(), e.what()).Value());
    return d.Promise();
  }
  auto* w = new LoadWorker(info.Env(), std::move(spec), device, options);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// A copy's size in bytes (at most 1 TiB) and its repetitions (at least 1: the median of none is no number).
std::pair<size_t, int> bandwidth_args(const Napi::CallbackInfo& info, const char* fn) {
  const size_t bytes = size_t(integer(info[0], fn, "bytes", 1, int64_t(1) << 40));
  const int reps = int(integer(info[1], fn, "reps", 1, 1000000));
  return {bytes, reps};
}

Napi::Value CopyBandwidth(const Napi::CallbackInfo& info) {
  const auto [bytes, reps] = bandwidth_args(info, "copyBandwidth");
  double bandwidth = 0;
  core_thread().run([&, bytes = bytes, reps = reps] { bandwidth = hogwild::copy_bandwidth(bytes, reps); });
  return Napi::Number::New(info.Env(), bandwidth);
}

// sampleLogits(logits: Float32Array [rows*vocab], vocab, specs, suppress, ids, logprobs?): the core's rule on
// given logits, and the log-probabilities the specs ask for.
Napi::Value SampleLogits(const Napi::CallbackInfo& info) {
  const LogprobsFields lp_fields = fetch_logprobs(info, 5, "sampleLogits");  // getters first (JavaScript)
  auto logits = typed<float>(info[0], "sampleLogits", "logits");
  const int vocab = int(integer(info[1], "sampleLogits", "vocab", 1, INT32_MAX));
  if (logits.ElementLength() % size_t(vocab)) throw Error("sampleLogits: logits are not whole rows");
  if (logits.ElementLength() / vocab > size_t(INT32_MAX)) range_error(info.Env(), "sampleLogits: over 2^31 rows");
  const int rows = int(logits.ElementLength() / vocab);
  const std::vector<hogwild::SampleSpec> specs = read_specs(typed<float>(info[2], "sampleLogits", "specs"), rows);
  auto suppress = typed<int32_t>(info[3], "sampleLogits", "suppress");
  auto ids = typed<int32_t>(info[4], "sampleLogits", "ids");
  if (ids.ElementLength() < size_t(rows)) throw Error("sampleLogits: the ids buffer is too small");
  if (suppress.ElementLength() > size_t(INT32_MAX)) range_error(info.Env(), "sampleLogits: suppress holds over 2^31 ids");
  const hogwild::Logprobs out = check_logprobs(lp_fields, rows, "sampleLogits").view;
  hogwild::check_spec_ranges(specs.data(), rows, vocab, suppress.Data(), int(suppress.ElementLength()), out);
  hogwild::sample_rows(logits.Data(), rows, vocab, specs.data(), suppress.Data(), ids.Data(), out);
  return info.Env().Undefined();
}

Napi::Value DeviceCopyBandwidth(const Napi::CallbackInfo& info) {
  const auto [bytes, reps] = bandwidth_args(info, "deviceCopyBandwidth");
  return Napi::Number::New(info.Env(), hogwild::device_copy_bandwidth(bytes, reps));
}

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  const hogwild::CudaInfo c = hogwild::cuda_info();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("compiled", c.compiled);
  o.Set("deviceCount", c.device_count);
  o.Set("error", c.error);
  o.Set("name", c.name);
  o.Set("selftest", c.selftest);
  return o;
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), omp_get_max_threads()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Classes{Napi::Persistent(CacheWrap::Init(env)), Napi::Persistent(ModelWrap::Init(env))});
  exports.Set("loadModel", Napi::Function::New(env, LoadModel));
  exports.Set("copyBandwidth", Napi::Function::New(env, CopyBandwidth));
  exports.Set("deviceCopyBandwidth", Napi::Function::New(env, DeviceCopyBandwidth));
  exports.Set("sampleLogits", Napi::Function::New(env, SampleLogits));
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("abi", Napi::Function::New(env, Abi));
  exports.Set("deviceOptions", Napi::Function::New(env, DeviceOptionsText));
  exports.Set("expectedTensors", Napi::Function::New(env, ExpectedTensors));
  return exports;
}

}  // namespace

NODE_API_MODULE(hogwild, Init)
