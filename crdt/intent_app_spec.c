/*
 * intent_app_spec.c - reading an App spec's fields: the manifests a site
 * applies and the namespace its namespaced objects default to.
 *
 * Pure msgpack, no YAML: the manifests text itself is checked by whoever
 * links a YAML parser (shoald's validate hook, the apply engine). Unknown
 * fields are skipped here; the schema (intent_schema.c) refuses them at
 * ingress.
 */
#include <string.h>

#include "shoal/intent.h"
#include "shoal/mp.h"

int intent_app_spec_read(const uint8_t *spec, size_t len, struct intent_app_spec *out)
{
	const uint8_t *p = spec, *end = spec + len;
	uint32_t count;
	memset(out, 0, sizeof(*out));
	if (shoal_mp_read_map(&p, end, &count) != 0)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		if (shoal_mp_read_str(&p, end, &k, &kl) != 0)
			return -1;
		if ((kl == 9 && memcmp(k, "manifests", 9) == 0) ||
		    (kl == 9 && memcmp(k, "namespace", 9) == 0)) {
			if (shoal_mp_read_str(&p, end, &v, &vl) != 0)
				return -1;
			if (k[0] == 'm') {
				out->manifests = (const char *)v;
				out->manifests_len = vl;
			} else {
				out->ns = (const char *)v;
				out->ns_len = vl;
			}
			continue;
		}
		if (shoal_mp_skip(&p, end, 8) != 0)
			return -1;
	}
	return out->manifests != NULL ? 0 : -1;
}
