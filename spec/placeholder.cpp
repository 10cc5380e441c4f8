// Keeps libspec non-empty until the readers land.
namespace berth::spec {}
