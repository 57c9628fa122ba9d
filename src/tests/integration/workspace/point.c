/* Sample C source for Alloy's integration tests. */
#include <math.h>
#include <stdio.h>

struct point {
    double x;
    double y;
};

static double distance(struct point a, struct point b) {
    double dx = a.x - b.x;
    double dy = a.y - b.y;
    return sqrt(dx * dx + dy * dy);
}

int main(void) {
    struct point origin = {0.0, 0.0};
    struct point p = {3.0, 4.0};
    printf("%.1f\n", distance(origin, p));
    return 0;
}
