# (owned by the link-page work: QR codes, browser identity, the link page)
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs objdetect)

target_sources(paysync_protocols PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/qr_code.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handset_identity.cpp)
# OpenCV's headers warn under C++20 (-Wdeprecated-enum-enum-conversion): system headers.
target_include_directories(paysync_protocols SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(paysync_protocols PRIVATE opencv_core opencv_imgproc opencv_imgcodecs
                                                opencv_objdetect)
